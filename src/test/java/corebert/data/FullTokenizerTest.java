package corebert.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Cases from google-research/bert's tokenization_test.py, plus edge cases of the same rules. */
class FullTokenizerTest {
  /** tokenization_test.py's vocab, after [PAD] and [MASK] (ours insists on all five specials). */
  private static final List<String> BERT_TEST_TOKENS =
      List.of(
          "[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un", "runn", "##ing", ",");

  private static Vocab testVocab() {
    List<String> tokens = new ArrayList<>(List.of("[PAD]", "[MASK]"));
    tokens.addAll(BERT_TEST_TOKENS);
    return Vocab.of(tokens);
  }

  @Test
  void fullTokenizerMatchesBert() {
    FullTokenizer tokenizer = new FullTokenizer(testVocab(), true);
    List<String> tokens = tokenizer.tokenize("UNwant\u00E9d,running");
    assertEquals(List.of("un", "##want", "##ed", ",", "runn", "##ing"), tokens);
    // BERT's ids [7, 4, 5, 10, 8, 9], shifted by our two extra leading specials.
    assertArrayEquals(new int[] {9, 6, 7, 12, 10, 11}, tokenizer.toIds(tokens));
  }

  @Test
  void wordpieceMatchesBert() {
    FullTokenizer tokenizer = new FullTokenizer(testVocab(), true);
    assertEquals(List.of(), tokenizer.tokenize(""));
    assertEquals(
        List.of("un", "##want", "##ed", "runn", "##ing"), tokenizer.tokenize("unwanted running"));
    // One unknown piece makes the whole word [UNK], not a partial split.
    assertEquals(List.of("[UNK]", "runn", "##ing"), tokenizer.tokenize("unwantedX running"));
  }

  @Test
  void overlongWordIsUnk() {
    Vocab vocab = Vocab.of(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a"));
    FullTokenizer tokenizer = new FullTokenizer(vocab, true);
    String limit = "a".repeat(FullTokenizer.MAX_INPUT_CHARS_PER_WORD);
    assertEquals(FullTokenizer.MAX_INPUT_CHARS_PER_WORD, tokenizer.tokenize(limit).size());
    assertEquals(List.of("[UNK]"), tokenizer.tokenize(limit + "a"));
  }

  @Test
  void unknownTokenIdIsUnk() {
    Vocab vocab = testVocab();
    assertArrayEquals(
        new int[] {vocab.unkId()}, new FullTokenizer(vocab, true).toIds(List.of("nope")));
  }

  @Test
  void basicTokenizerLower() {
    FullTokenizer tokenizer = new FullTokenizer(testVocab(), true);
    assertEquals(
        List.of("hello", "!", "how", "are", "you", "?"),
        tokenizer.basicTokenize(" \tHeLLo!how  \n Are yoU?  "));
    assertEquals(List.of("hello"), tokenizer.basicTokenize("H\u00E9llo"));
  }

  @Test
  void basicTokenizerNoLower() {
    FullTokenizer tokenizer = new FullTokenizer(testVocab(), false);
    assertEquals(
        List.of("HeLLo", "!", "how", "Are", "yoU", "?"),
        tokenizer.basicTokenize(" \tHeLLo!how  \n Are yoU?  "));
    // Accents are only stripped together with lower-casing, as in BERT.
    assertEquals(List.of("H\u00E9llo"), tokenizer.basicTokenize("H\u00E9llo"));
  }

  @Test
  void chineseCharactersAreSplit() {
    FullTokenizer tokenizer = new FullTokenizer(testVocab(), true);
    assertEquals(
        List.of("ah", "\u535A", "\u63A8", "zz"), tokenizer.basicTokenize("ah\u535A\u63A8zz"));
    // A CJK extension B ideograph is a surrogate pair in Java and still one character.
    String extB = new String(Character.toChars(0x20000));
    assertEquals(List.of("a", extB, "b"), tokenizer.basicTokenize("a" + extB + "b"));
  }

  @Test
  void controlAndInvalidCharactersAreRemoved() {
    FullTokenizer tokenizer = new FullTokenizer(testVocab(), true);
    assertEquals(
        List.of("hello", "world"), tokenizer.basicTokenize("he\u0000l\uFFFDlo\u0005 wor\u200Bld"));
    // No-break space (Zs) separates words; \u2028 too, as in Python's str.split().
    assertEquals(List.of("a", "b", "c"), tokenizer.basicTokenize("a\u00A0b\u2028c"));
  }

  @Test
  void punctuationRules() {
    for (int cp : new int[] {'-', '$', '`', '.', '^', '~', '\u00BF', '\u201C'}) {
      assertTrue(BasicTokenizer.isPunctuation(cp), Character.getName(cp));
    }
    assertFalse(BasicTokenizer.isPunctuation('A'));
    assertFalse(BasicTokenizer.isPunctuation(' '));
    assertFalse(BasicTokenizer.isPunctuation('\u00A9')); // (c) is a symbol, So, not P*
    assertTrue(BasicTokenizer.isWhitespace('\u00A0'));
    assertFalse(BasicTokenizer.isWhitespace('-'));
    assertTrue(BasicTokenizer.isControl(0x05));
    assertFalse(BasicTokenizer.isControl('\t'));
    assertFalse(BasicTokenizer.isControl('\r'));
    FullTokenizer tokenizer = new FullTokenizer(testVocab(), true);
    assertEquals(
        List.of("don", "'", "t", "$", "5", ".", "00"), tokenizer.basicTokenize("Don't $5.00"));
  }
}
