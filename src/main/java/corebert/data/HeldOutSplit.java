package corebert.data;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Splits a corpus in any {@link CorpusFormat} into training and held-out text by whole documents,
 * so that no held-out sentence has a neighbour in training. Both sides are written in
 * google-research's text format (a sentence per line, a blank line between documents), which {@code
 * vocab} and {@code create-data} read as they are.
 */
public final class HeldOutSplit {
  private static final Logger LOG = Logger.getLogger(HeldOutSplit.class.getName());

  /** What was written. */
  public record Counts(long trainDocuments, long heldOutDocuments) {}

  private HeldOutSplit() {}

  /**
   * Holds out {@code round(fraction · documents)} documents, at least one and at most all but one,
   * chosen by a hash of the seed and each document's index: the choice depends on the corpus and
   * seed only. Reads the corpus twice (count, then write). {@code heldOutText} is moved into place
   * before {@code trainText}, so an existing {@code trainText} means both are complete.
   *
   * @throws IllegalArgumentException for bad input (naming file and line), or a corpus of fewer
   *     than two documents
   */
  public static Counts write(
      List<Path> files,
      CorpusFormat format,
      String textField,
      double fraction,
      long seed,
      Path trainText,
      Path heldOutText) {
    if (!(fraction > 0 && fraction < 1)) {
      throw new IllegalArgumentException("held-out fraction must be in (0, 1), got " + fraction);
    }
    CorpusReader corpus = new CorpusReader(files, format, textField);
    long documents = corpus.read((index, lines) -> {});
    if (documents < 2) {
      throw new IllegalArgumentException(
          "corpus has "
              + documents
              + " document(s) with text; a held-out split needs at least 2: "
              + files);
    }
    // At least one document on each side.
    long k = Math.min(documents - 1, Math.max(1, Math.round(fraction * documents)));
    Set<Long> heldOut = chosen(documents, k, seed);
    Path trainTmp = temporary(trainText);
    Path heldOutTmp = temporary(heldOutText);
    try {
      Files.createDirectories(trainText.toAbsolutePath().getParent());
      Files.createDirectories(heldOutText.toAbsolutePath().getParent());
      try (BufferedWriter train = Files.newBufferedWriter(trainTmp, StandardCharsets.UTF_8);
          BufferedWriter held = Files.newBufferedWriter(heldOutTmp, StandardCharsets.UTF_8)) {
        corpus.read((index, lines) -> writeDocument(heldOut.contains(index) ? held : train, lines));
      }
      Files.move(heldOutTmp, heldOutText, StandardCopyOption.ATOMIC_MOVE);
      Files.move(trainTmp, trainText, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + trainText + ": " + e.getMessage(), e);
    } finally {
      deleteQuietly(trainTmp);
      deleteQuietly(heldOutTmp);
    }
    LOG.info(
        "held-out split: "
            + heldOut.size()
            + " of "
            + documents
            + " documents held out (seed "
            + seed
            + ")");
    return new Counts(documents - heldOut.size(), heldOut.size());
  }

  /** The {@code k} document indexes in [0, n) with the smallest seeded hashes. */
  static Set<Long> chosen(long n, long k, long seed) {
    // A max-heap of the k smallest hashes seen so far.
    PriorityQueue<long[]> smallest =
        new PriorityQueue<>(
            (a, b) -> Long.compareUnsigned(b[0], a[0])); // {hash, index}, largest hash first
    for (long i = 0; i < n; i++) {
      long h = mix(seed, i);
      if (smallest.size() < k) {
        smallest.add(new long[] {h, i});
      } else if (Long.compareUnsigned(h, smallest.peek()[0]) < 0) {
        smallest.poll();
        smallest.add(new long[] {h, i});
      }
    }
    Set<Long> out = new HashSet<>();
    smallest.forEach(e -> out.add(e[1]));
    return out;
  }

  /** SplitMix64's finaliser over seed and index: well spread, and the same on every JVM. */
  private static long mix(long seed, long index) {
    long z = seed + 0x9E3779B97F4A7C15L * (index + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private static void writeDocument(BufferedWriter out, List<String> sentences) {
    try {
      for (String s : sentences) {
        out.write(s);
        out.newLine();
      }
      out.newLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path temporary(Path file) {
    return file.toAbsolutePath().resolveSibling("." + file.getFileName() + ".tmp");
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException ignored) {
      // a leftover temporary file is replaced by the next run
    }
  }
}
