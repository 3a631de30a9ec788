package corebert.data;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A WordPiece vocabulary in google-research/bert's vocab.txt format: one token per line, UTF-8, the
 * line index is the id, and `##` marks a piece that continues a word. Immutable.
 *
 * <p>Every vocab must hold the five {@link #SPECIAL_TOKENS}, because the data pipeline and the
 * model heads address them by id; a vocab without them fails at load time instead of mid-run.
 */
public final class Vocab {
  /** BERT's special tokens, in the order its released vocabularies (and ours) put them. */
  public static final List<String> SPECIAL_TOKENS =
      List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]");

  /** The prefix that marks a word-continuation piece. */
  public static final String CONTINUATION = "##";

  private final List<String> tokens;
  private final Map<String, Integer> ids;
  private final int padId;
  private final int unkId;
  private final int clsId;
  private final int sepId;
  private final int maskId;

  private Vocab(List<String> tokens, String source) {
    if (tokens.isEmpty()) {
      throw new IllegalArgumentException(source + ": vocab is empty");
    }
    Map<String, Integer> byToken = new HashMap<>(tokens.size() * 2);
    for (int i = 0; i < tokens.size(); i++) {
      String token = tokens.get(i);
      if (token.isEmpty()) {
        throw new IllegalArgumentException(source + ":" + (i + 1) + ": empty token");
      }
      Integer first = byToken.putIfAbsent(token, i);
      if (first != null) {
        throw new IllegalArgumentException(
            source
                + ":"
                + (i + 1)
                + ": duplicate token '"
                + token
                + "' (first on line "
                + (first + 1)
                + ")");
      }
    }
    List<String> missing = SPECIAL_TOKENS.stream().filter(t -> !byToken.containsKey(t)).toList();
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          source + ": vocab lacks the special tokens " + String.join(" ", missing));
    }
    this.tokens = List.copyOf(tokens);
    this.ids = Map.copyOf(byToken);
    this.padId = byToken.get("[PAD]");
    this.unkId = byToken.get("[UNK]");
    this.clsId = byToken.get("[CLS]");
    this.sepId = byToken.get("[SEP]");
    this.maskId = byToken.get("[MASK]");
  }

  /**
   * Reads a vocab.txt. Like BERT's `load_vocab`, each line is stripped of surrounding whitespace.
   *
   * @throws IllegalArgumentException naming the file (and line) when it is missing, empty, not
   *     UTF-8, has a blank or duplicate token, or lacks a special token
   */
  public static Vocab load(Path vocabTxt) {
    List<String> tokens = new ArrayList<>();
    try (BufferedReader in = CorpusReader.strictUtf8Lines(vocabTxt)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        tokens.add(line.strip());
      }
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("vocab file not found: " + vocabTxt, e);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(
          vocabTxt + ": not valid UTF-8 at or after line " + (tokens.size() + 1), e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read vocab " + vocabTxt, e);
    }
    return new Vocab(tokens, vocabTxt.toString());
  }

  /** A vocab from tokens in id order; the same checks as {@link #load}, lines counted from 1. */
  public static Vocab of(List<String> tokens) {
    return new Vocab(tokens, "<vocab>");
  }

  /**
   * Writes this vocab in vocab.txt format. The file appears whole or not at all: it is written to a
   * temporary file in the same directory and then renamed over the target.
   */
  public void write(Path path) {
    Path dir = path.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      Files.createDirectories(dir);
      tmp = Files.createTempFile(dir, path.getFileName().toString(), ".tmp");
      try (BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
        for (String token : tokens) {
          out.write(token);
          out.write('\n');
        }
      }
      Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw new UncheckedIOException("cannot write vocab " + path, e);
    }
  }

  public int size() {
    return tokens.size();
  }

  /** The id of {@code token}, or {@link #unkId()} when the vocab lacks it. */
  public int id(String token) {
    Integer id = ids.get(token);
    return id == null ? unkId : id;
  }

  public boolean contains(String token) {
    return ids.containsKey(token);
  }

  /**
   * The token with this id.
   *
   * @throws IndexOutOfBoundsException when {@code id} is not in [0, size)
   */
  public String token(int id) {
    return tokens.get(id);
  }

  /** All tokens in id order (unmodifiable). */
  public List<String> tokens() {
    return tokens;
  }

  public int padId() {
    return padId;
  }

  public int unkId() {
    return unkId;
  }

  public int clsId() {
    return clsId;
  }

  public int sepId() {
    return sepId;
  }

  public int maskId() {
    return maskId;
  }
}
