package corebert.data;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Word-level tokenization, a port of google-research/bert's `BasicTokenizer` rule for rule: clean
 * the text, isolate CJK ideographs, split on whitespace, optionally lower-case and strip accents,
 * then split off every punctuation character. Shared by {@link FullTokenizer} and {@link
 * VocabTrainer} so that a trained vocab sees exactly the words the tokenizer will produce.
 * Stateless, so thread-safe.
 *
 * <p>Characters are code points, as in Python 3 strings, so supplementary characters (including the
 * CJK extension blocks) are handled like BERT handles them.
 */
final class BasicTokenizer {
  private final boolean lowerCase;

  BasicTokenizer(boolean lowerCase) {
    this.lowerCase = lowerCase;
  }

  /** The words and punctuation marks of {@code text}, none empty. */
  List<String> tokenize(String text) {
    List<String> out = new ArrayList<>();
    for (String token : whitespaceSplit(clean(text))) {
      if (lowerCase) {
        token = stripAccents(token.toLowerCase(Locale.ROOT));
      }
      splitOnPunctuation(token, out);
    }
    return out;
  }

  /**
   * Drops NUL, U+FFFD and control characters, maps whitespace to a space, and surrounds each CJK
   * ideograph with spaces (BERT's `_clean_text` and `_tokenize_chinese_chars` in one pass).
   */
  private static String clean(String text) {
    StringBuilder sb = new StringBuilder(text.length() + 16);
    text.codePoints()
        .forEach(
            cp -> {
              if (cp == 0 || cp == 0xFFFD || isControl(cp)) {
                return;
              }
              if (isWhitespace(cp)) {
                sb.append(' ');
              } else if (isChineseChar(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
              } else {
                sb.appendCodePoint(cp);
              }
            });
    return sb.toString();
  }

  /**
   * Splits where Python's `str.split()` would on cleaned text: after {@link #clean} only spaces and
   * the line/paragraph separators U+2028/U+2029 can remain as Python whitespace.
   */
  private static List<String> whitespaceSplit(String text) {
    List<String> out = new ArrayList<>();
    int start = -1;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      boolean space = cp == ' ' || cp == 0x2028 || cp == 0x2029;
      if (space && start >= 0) {
        out.add(text.substring(start, i));
        start = -1;
      } else if (!space && start < 0) {
        start = i;
      }
      i += Character.charCount(cp);
    }
    if (start >= 0) {
      out.add(text.substring(start));
    }
    return out;
  }

  /** NFD, then drop the non-spacing marks (category Mn): "héllo" becomes "hello". */
  private static String stripAccents(String token) {
    String nfd = Normalizer.normalize(token, Normalizer.Form.NFD);
    StringBuilder sb = new StringBuilder(nfd.length());
    nfd.codePoints()
        .filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK)
        .forEach(sb::appendCodePoint);
    return sb.toString();
  }

  /** Appends the runs of non-punctuation and each punctuation character on its own. */
  private static void splitOnPunctuation(String token, List<String> out) {
    int start = -1;
    for (int i = 0; i < token.length(); ) {
      int cp = token.codePointAt(i);
      int next = i + Character.charCount(cp);
      if (isPunctuation(cp)) {
        if (start >= 0) {
          out.add(token.substring(start, i));
          start = -1;
        }
        out.add(token.substring(i, next));
      } else if (start < 0) {
        start = i;
      }
      i = next;
    }
    if (start >= 0) {
      out.add(token.substring(start));
    }
  }

  /** BERT's `_is_whitespace`: tab, newline, carriage return, or category Zs. */
  static boolean isWhitespace(int cp) {
    return cp == ' '
        || cp == '\t'
        || cp == '\n'
        || cp == '\r'
        || Character.getType(cp) == Character.SPACE_SEPARATOR;
  }

  /** BERT's `_is_control`: category Cc or Cf, except tab, newline and carriage return. */
  static boolean isControl(int cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      return false;
    }
    int type = Character.getType(cp);
    return type == Character.CONTROL || type == Character.FORMAT;
  }

  /**
   * BERT's `_is_punctuation`: every non-alphanumeric printable ASCII character (so `$`, `^` and ``
   * ` `` count, for consistency, though Unicode calls them symbols), plus categories P*.
   */
  static boolean isPunctuation(int cp) {
    if ((cp >= 33 && cp <= 47)
        || (cp >= 58 && cp <= 64)
        || (cp >= 91 && cp <= 96)
        || (cp >= 123 && cp <= 126)) {
      return true;
    }
    switch (Character.getType(cp)) {
      case Character.CONNECTOR_PUNCTUATION:
      case Character.DASH_PUNCTUATION:
      case Character.START_PUNCTUATION:
      case Character.END_PUNCTUATION:
      case Character.INITIAL_QUOTE_PUNCTUATION:
      case Character.FINAL_QUOTE_PUNCTUATION:
      case Character.OTHER_PUNCTUATION:
        return true;
      default:
        return false;
    }
  }

  /**
   * BERT's `_is_chinese_char`: the CJK Unified Ideographs blocks and their extensions. Hangul,
   * Hiragana and Katakana are not included, as in BERT, because those scripts space their words.
   */
  static boolean isChineseChar(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF)
        || (cp >= 0x3400 && cp <= 0x4DBF)
        || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F)
        || (cp >= 0x2B740 && cp <= 0x2B81F)
        || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF)
        || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }
}
