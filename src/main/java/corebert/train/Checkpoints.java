package corebert.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;

/**
 * TF V2 checkpoints named {@code model.ckpt-<step>} with TF's {@code checkpoint} index file,
 * written so that a crash at any moment leaves the newest complete checkpoint loadable: files are
 * saved in a hidden temporary directory, fsynced, moved in (the {@code .index} file last, since it
 * is what makes a prefix loadable), and only then does the {@code checkpoint} file name the new
 * prefix.
 */
public final class Checkpoints {
  private static final Logger LOG = Logger.getLogger(Checkpoints.class.getName());
  public static final String PREFIX = "model.ckpt";
  public static final String INDEX_FILE = "checkpoint";
  private static final Pattern STEP = Pattern.compile("model\\.ckpt-(\\d+)\\.index");

  private Checkpoints() {}

  /**
   * Resolves a user's checkpoint argument: a directory (its newest complete checkpoint; for a
   * {@code core} run's directory, that of its full BERT, or of its relaxed BERT before surgery) or
   * an explicit prefix such as {@code out/model.ckpt-1000} or Google's {@code bert_model.ckpt}.
   */
  public static Path resolve(String pathOrDir) {
    Path p = Path.of(pathOrDir);
    if (Files.isDirectory(p)) {
      Optional<Path> own = latest(p);
      if (own.isPresent()) {
        return own.get();
      }
      Optional<Path> full = latest(p.resolve(RunDir.CORE_FULL));
      Optional<Path> core = full.isPresent() ? full : latest(p.resolve(RunDir.CORE_RELAXED));
      if (core.isPresent()) {
        LOG.info(
            p
                + " is a CoRe run: using its "
                + (full.isPresent() ? "full BERT " : "relaxed BERT (surgery has not run yet) ")
                + core.get());
        return core.get();
      }
      throw new IllegalArgumentException("no complete checkpoint in directory " + p);
    }
    Path prefix =
        p.toString().endsWith(".index") ? Path.of(p.toString().replaceAll("\\.index$", "")) : p;
    if (!Files.isRegularFile(Path.of(prefix + ".index"))) {
      throw new IllegalArgumentException(
          "no checkpoint at "
              + pathOrDir
              + " (neither a directory nor a prefix with an .index file)");
    }
    return prefix;
  }

  /**
   * The newest complete checkpoint of a directory: the index file's entry, else the highest step.
   */
  public static Optional<Path> latest(Path dir) {
    Path index = dir.resolve(INDEX_FILE);
    if (Files.isRegularFile(index)) {
      try {
        for (String line : Files.readAllLines(index)) {
          if (line.startsWith("model_checkpoint_path:")) {
            String name = line.substring(line.indexOf('"') + 1, line.lastIndexOf('"'));
            Path prefix = dir.resolve(name);
            if (isComplete(prefix)) {
              return Optional.of(prefix);
            }
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + index, e);
      }
    }
    return steps(dir).stream()
        .sorted(Comparator.reverseOrder())
        .map(s -> dir.resolve(PREFIX + "-" + s))
        .filter(Checkpoints::isComplete)
        .findFirst();
  }

  /** Every complete checkpoint of a directory, oldest first. */
  public static List<Path> all(Path dir) {
    return steps(dir).stream()
        .map(s -> dir.resolve(PREFIX + "-" + s))
        .filter(Checkpoints::isComplete)
        .toList();
  }

  /** The step a checkpoint prefix was saved at, from its name. */
  public static long stepOf(Path prefix) {
    Matcher m = STEP.matcher(prefix.getFileName() + ".index");
    if (!m.matches()) {
      throw new IllegalArgumentException("not a corebert checkpoint name: " + prefix);
    }
    return Long.parseLong(m.group(1));
  }

  /**
   * Saves the session's variables as {@code dir/model.ckpt-<step>} and keeps the newest {@code
   * keep}.
   */
  public static Path save(Session session, Path dir, long step, int keep) {
    String name = PREFIX + "-" + step;
    Path tmp = dir.resolve(".tmp-" + name);
    try {
      deleteRecursively(tmp);
      Files.createDirectories(tmp);
      session.save(tmp.resolve(name).toString());
      List<Path> files;
      try (Stream<Path> s = Files.list(tmp)) {
        files = new ArrayList<>(s.toList());
      }
      // Data shards first, the .index last: a prefix without its index is never loaded.
      files.sort(Comparator.comparing(f -> f.getFileName().toString().endsWith(".index")));
      for (Path f : files) {
        fsync(f);
        move(f, dir.resolve(f.getFileName()));
      }
      Files.delete(tmp);
      fsync(dir);
      writeIndex(dir, name);
      prune(dir, keep);
      return dir.resolve(name);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException(
          "cannot save checkpoint " + dir.resolve(name) + ": " + e.getMessage(), e);
    } catch (TensorFlowException e) {
      // TF's own write failed (e.g. no space left); nothing partial may stay behind.
      deleteQuietly(tmp);
      throw new UncheckedIOException(
          "cannot save checkpoint " + dir.resolve(name) + ": " + firstLine(e), new IOException(e));
    }
  }

  /** Writes a small text file atomically: temp file, fsync, rename. */
  public static void writeAtomically(Path target, String content) {
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    try {
      Files.writeString(tmp, content);
      fsync(tmp);
      move(tmp, target);
    } catch (IOException e) {
      deleteQuietly(tmp);
      throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
    }
  }

  private static void writeIndex(Path dir, String newest) throws IOException {
    StringBuilder sb = new StringBuilder();
    sb.append("model_checkpoint_path: \"").append(newest).append("\"\n");
    for (long s : steps(dir)) {
      sb.append("all_model_checkpoint_paths: \"")
          .append(PREFIX)
          .append('-')
          .append(s)
          .append("\"\n");
    }
    writeAtomically(dir.resolve(INDEX_FILE), sb.toString());
  }

  /** Deletes all but the newest {@code keep} checkpoints of {@code dir}. */
  public static void keepNewest(Path dir, int keep) {
    try {
      prune(dir, keep);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove old checkpoints in " + dir, e);
    }
  }

  private static void prune(Path dir, int keep) throws IOException {
    List<Long> all = steps(dir);
    for (int i = 0; i < all.size() - keep; i++) {
      String name = PREFIX + "-" + all.get(i);
      // The index goes first, so a half-deleted checkpoint is never taken as complete.
      Files.deleteIfExists(dir.resolve(name + ".index"));
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, name + ".data-*")) {
        for (Path p : ds) {
          Files.deleteIfExists(p);
        }
      }
      LOG.fine("removed old checkpoint " + name);
    }
    if (all.size() > keep) {
      writeIndex(dir, PREFIX + "-" + all.get(all.size() - 1));
    }
  }

  /** Steps of the complete checkpoints in {@code dir}, ascending. */
  static List<Long> steps(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> STEP.matcher(p.getFileName().toString()))
          .filter(Matcher::matches)
          .map(m -> Long.parseLong(m.group(1)))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
  }

  private static boolean isComplete(Path prefix) {
    if (!Files.isRegularFile(Path.of(prefix + ".index"))) {
      return false;
    }
    try (DirectoryStream<Path> ds =
        Files.newDirectoryStream(prefix.getParent(), prefix.getFileName() + ".data-*")) {
      return ds.iterator().hasNext();
    } catch (IOException e) {
      return false;
    }
  }

  private static void move(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static void fsync(Path p) throws IOException {
    boolean dir = Files.isDirectory(p);
    try (FileChannel ch =
        FileChannel.open(p, dir ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
      ch.force(true);
    } catch (IOException e) {
      if (!dir) {
        throw e; // some file systems cannot sync a directory; files must sync
      }
    }
  }

  /** Deletes a file or a folder tree; nothing happens when it does not exist. */
  public static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      deleteRecursively(p);
    } catch (IOException ignored) {
      // best effort: the failure being reported matters more
    }
  }

  /** A TensorFlow error's first line: its message without the node trace that follows. */
  public static String firstLine(TensorFlowException e) {
    return e.getMessage().lines().findFirst().orElse("");
  }
}
