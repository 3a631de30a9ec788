package corebert.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Text to WordPiece tokens, a port of google-research/bert's `FullTokenizer`: {@link
 * BasicTokenizer} words, then greedy longest-match-first WordPiece against the vocab. Immutable and
 * thread-safe, so one instance can serve every create-data thread.
 */
public final class FullTokenizer {
  /** BERT's `max_input_chars_per_word` default: longer words are one [UNK], not a search. */
  static final int MAX_INPUT_CHARS_PER_WORD = 200;

  private final Vocab vocab;
  private final BasicTokenizer basic;

  /**
   * @param lowerCase lower-case and strip accents, as for BERT's uncased models; must match how the
   *     vocab was built
   */
  public FullTokenizer(Vocab vocab, boolean lowerCase) {
    this.vocab = vocab;
    this.basic = new BasicTokenizer(lowerCase);
  }

  /** The WordPiece tokens of {@code text}; a word that cannot be pieced together is one [UNK]. */
  public List<String> tokenize(String text) {
    List<String> out = new ArrayList<>();
    for (String word : basic.tokenize(text)) {
      wordpiece(word, out);
    }
    return out;
  }

  /** Word-level tokens only (BERT's `BasicTokenizer.tokenize`), no vocab involved. */
  public List<String> basicTokenize(String text) {
    return basic.tokenize(text);
  }

  /** Vocab ids of {@code tokens}; a token the vocab lacks maps to [UNK]. */
  public int[] toIds(List<String> tokens) {
    int[] ids = new int[tokens.size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = vocab.id(tokens.get(i));
    }
    return ids;
  }

  public Vocab vocab() {
    return vocab;
  }

  /**
   * Appends the pieces of one word: repeatedly the longest vocab entry that starts at the current
   * code point (with `##` after the first piece). If some position has no match, the whole word
   * becomes [UNK], as in BERT, rather than a partial split.
   */
  private void wordpiece(String word, List<String> out) {
    int chars = word.codePointCount(0, word.length());
    if (chars > MAX_INPUT_CHARS_PER_WORD) {
      out.add(vocab.token(vocab.unkId()));
      return;
    }
    int[] bounds = new int[chars + 1]; // char offset of each code point, plus the end
    for (int i = 0, offset = 0; i < chars; i++) {
      bounds[i] = offset;
      offset += Character.charCount(word.codePointAt(offset));
    }
    bounds[chars] = word.length();
    int mark = out.size();
    int start = 0;
    while (start < chars) {
      String piece = null;
      int end = chars;
      for (; end > start; end--) {
        String sub = word.substring(bounds[start], bounds[end]);
        if (start > 0) {
          sub = Vocab.CONTINUATION + sub;
        }
        if (vocab.contains(sub)) {
          piece = sub;
          break;
        }
      }
      if (piece == null) {
        out.subList(mark, out.size()).clear();
        out.add(vocab.token(vocab.unkId()));
        return;
      }
      out.add(piece);
      start = end;
    }
  }
}
