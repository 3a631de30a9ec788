package corebert.data;

import java.nio.file.Path;
import java.util.Locale;

/**
 * How a corpus file lays out its documents. Any of them may be gzipped: a name ending in {@code
 * .gz} is read through gzip.
 */
public enum CorpusFormat {
  /** By extension: {@code .jsonl} or {@code .json} (before any {@code .gz}) is JSONL, else TEXT. */
  AUTO,
  /** google-research/bert's text: one sentence per line, a blank line between documents. */
  TEXT,
  /**
   * One document per file; blank lines separate paragraphs, lines within one are joined, and the
   * JDK's {@link java.text.BreakIterator} splits sentences.
   */
  DOCUMENTS,
  /** JSON Lines: one document per line, its text in a string field; sentences as DOCUMENTS. */
  JSONL;

  /** The format {@code file} is read in: this one, or for AUTO the one its name implies. */
  public CorpusFormat of(Path file) {
    if (this != AUTO) {
      return this;
    }
    String name = unzippedName(file);
    return name.endsWith(".jsonl") || name.endsWith(".json") ? JSONL : TEXT;
  }

  /** Whether {@code file} is gzipped, by its name. */
  static boolean gzipped(Path file) {
    return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gz");
  }

  private static String unzippedName(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    return gzipped(file) ? name.substring(0, name.length() - 3) : name;
  }

  /** The flag value naming this format. */
  public String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The format a flag value names; the error lists the choices. */
  public static CorpusFormat parse(String value) {
    for (CorpusFormat f : values()) {
      if (f.flagValue().equals(value)) {
        return f;
      }
    }
    throw new IllegalArgumentException(
        "corpus format must be auto, text, documents or jsonl, got '" + value + "'");
  }
}
