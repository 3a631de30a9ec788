package corebert.bench;

import corebert.train.Checkpoints;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Where benchmark results go: {@code PREFIX.json}, written atomically, next to its plot. */
final class Results {
  private Results() {}

  static void write(Path prefix, Map<String, Object> json) {
    Path parent = prefix.toAbsolutePath().getParent();
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + parent, e);
    }
    Checkpoints.writeAtomically(Path.of(prefix + ".json"), Jackson.writePretty(json));
  }
}
