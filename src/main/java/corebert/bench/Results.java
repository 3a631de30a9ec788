package corebert.bench;

import corebert.train.Checkpoints;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where benchmark results go: {@code PREFIX.json}, written atomically, next to its plot. */
final class Results {
  private Results() {}

  /** Writes {@code report}, a benchmark's typed result record, as {@code PREFIX.json}. */
  static void write(Path prefix, Object report) {
    Path parent = prefix.toAbsolutePath().getParent();
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + parent, e);
    }
    Checkpoints.writeAtomically(Path.of(prefix + ".json"), Jackson.writePretty(report));
  }
}
