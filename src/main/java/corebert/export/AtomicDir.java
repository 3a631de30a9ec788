package corebert.export;

import corebert.train.Checkpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;

/**
 * Exports (and a run's stages) are written into a hidden sibling folder and moved into place only
 * when complete, so an interrupted export never leaves a folder that looks like a finished one.
 */
public final class AtomicDir {
  private AtomicDir() {}

  /** What fills the temporary folder. */
  public interface Contents {
    void writeInto(Path tmp) throws IOException;
  }

  public static void write(Path outputDir, Contents contents) {
    Path tmp = outputDir.toAbsolutePath().resolveSibling("." + outputDir.getFileName() + ".tmp");
    try {
      Checkpoints.deleteRecursively(tmp);
      contents.writeInto(tmp);
      Files.deleteIfExists(outputDir); // an empty folder may stand in the way
      Files.move(tmp, outputDir, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + outputDir + ": " + e.getMessage(), e);
    } finally {
      try {
        Checkpoints.deleteRecursively(tmp);
      } catch (IOException ignored) {
        // the export's own outcome is what the caller needs to see
      }
    }
  }

  /** An export goes into a new or empty folder, never over files that are there. */
  public static void requireNew(Path outputDir) {
    if (Files.isDirectory(outputDir)) {
      try (Stream<Path> s = Files.list(outputDir)) {
        if (s.findAny().isPresent()) {
          throw new IllegalArgumentException(
              outputDir + " is not empty; export writes into a new or empty folder");
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + outputDir, e);
      }
    } else if (Files.exists(outputDir)) {
      throw new IllegalArgumentException(outputDir + " exists and is not a folder");
    }
  }
}
