package corebert.bench;

import com.fasterxml.jackson.databind.JsonNode;
import corebert.train.Checkpoints;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Finished benchmark runs, one JSON file each ({@code {"key": ..., "result": ...}}) in a directory
 * meant to be committed: a run whose stored key equals the one asked for is not trained again, on
 * this machine or a fresh one. An entry with other settings, or one that does not read, is a run to
 * do again (logged), never an error.
 */
final class RunStore {
  private static final Logger LOG = Logger.getLogger(RunStore.class.getName());

  record Entry<K, R>(K key, R result) {}

  private final Path dir;

  RunStore(Path dir) {
    this.dir = dir;
  }

  /** The stored result of {@code name} if it was stored under a key equal to {@code key}. */
  <K extends Record, R> Optional<R> find(String name, K key, Class<R> resultType) {
    Path file = file(name);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      JsonNode entry = Jackson.readTree(file);
      if (!entry.has("key") || !entry.has("result")) {
        throw new IOException("no \"key\" and \"result\"");
      }
      if (!key.equals(Jackson.convert(entry.get("key"), key.getClass()))) {
        LOG.info(file + " was stored with other settings; the run is done again");
        return Optional.empty();
      }
      LOG.info("reusing the finished run stored in " + file);
      return Optional.of(Jackson.convert(entry.get("result"), resultType));
    } catch (IOException | IllegalArgumentException e) {
      LOG.warning(file + " does not read (" + e.getMessage() + "); the run is done again");
      return Optional.empty();
    }
  }

  /** Stores {@code result} under {@code key}, atomically: a cut-short write leaves no entry. */
  <K extends Record, R> void put(String name, K key, R result) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
    Checkpoints.writeAtomically(file(name), Jackson.writePretty(new Entry<>(key, result)));
  }

  private Path file(String name) {
    return dir.resolve(name + ".json");
  }
}
