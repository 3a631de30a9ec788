package corebert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabTrainerTest {
  private static final Path SAMPLE_TRAIN = Path.of("data/sample/brown-sample-train.txt");
  private static final Path SAMPLE_EVAL = Path.of("data/sample/brown-sample-eval.txt");
  private static final String TEXT =
      "The quick brown fox jumps over the lazy dog.\n"
          + "\n"
          + "The lazy dog sleeps; the quick fox runs, jumping and running!\n"
          + "Caf\u00E9 owners were quicker than the foxes.\n";

  @TempDir Path dir;

  @Test
  void smallCorpus() throws IOException {
    Path text = dir.resolve("text.txt");
    Files.writeString(text, TEXT, StandardCharsets.UTF_8);
    Vocab vocab = VocabTrainer.train(List.of(text), 80, true);
    assertEquals(80, vocab.size());
    assertEquals(Vocab.SPECIAL_TOKENS, vocab.tokens().subList(0, 5));
    assertEquals(0, vocab.padId());
    assertTrue(vocab.contains("the"), vocab.tokens().toString());
    assertTrue(vocab.contains("e") && vocab.contains("##e"));
    assertFalse(vocab.contains("C"), "lower-cased by default");
    FullTokenizer tokenizer = new FullTokenizer(vocab, true);
    assertFalse(tokenizer.tokenize(TEXT).contains("[UNK]"), tokenizer.tokenize(TEXT).toString());
    // Same input, same vocab.
    assertEquals(vocab.tokens(), VocabTrainer.train(List.of(text), 80, true).tokens());
  }

  @Test
  void stopsWhenNoPairsRemain() throws IOException {
    Path text = dir.resolve("text.txt");
    Files.writeString(text, "ab ab ba\n", StandardCharsets.UTF_8);
    // 5 specials + a b ##a ##b + merges "ab", "ba"; then nothing is left to merge.
    assertEquals(
        List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b", "ab", "ba"),
        VocabTrainer.train(List.of(text), 100, true).tokens());
  }

  @Test
  void rejectsBadInput() throws IOException {
    Path blank = dir.resolve("blank.txt");
    Files.writeString(blank, "\n \t\n", StandardCharsets.UTF_8);
    String message =
        assertThrows(
                IllegalArgumentException.class, () -> VocabTrainer.train(List.of(blank), 100, true))
            .getMessage();
    assertTrue(message.contains("corpus is empty (no words in [" + blank + "])"), message);
    Path latin1 = dir.resolve("latin1.txt");
    Files.write(latin1, new byte[] {'o', 'k', '\n', 'c', 'a', 'f', (byte) 0xE9, '\n'});
    message =
        assertThrows(
                IllegalArgumentException.class,
                () -> VocabTrainer.train(List.of(latin1), 100, true))
            .getMessage();
    assertTrue(message.contains(latin1 + ": line 2: invalid UTF-8"), message);
    Path text = dir.resolve("text.txt");
    Files.writeString(text, TEXT, StandardCharsets.UTF_8);
    assertThrows(IllegalArgumentException.class, () -> VocabTrainer.train(List.of(text), 20, true));
  }

  /** The bundled sample trains a vocab that covers the held-out sample almost without [UNK]. */
  @Test
  void brownSampleCoversEval() throws IOException {
    Vocab vocab = VocabTrainer.train(List.of(SAMPLE_TRAIN), 2000, true);
    assertEquals(2000, vocab.size());
    FullTokenizer tokenizer = new FullTokenizer(vocab, true);
    long tokens = 0;
    long unknown = 0;
    try (BufferedReader in = Files.newBufferedReader(SAMPLE_EVAL, StandardCharsets.UTF_8)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        for (String token : tokenizer.tokenize(line)) {
          tokens++;
          unknown += token.equals("[UNK]") ? 1 : 0;
        }
      }
    }
    assertTrue(tokens > 10_000, "eval sample has " + tokens + " tokens");
    assertTrue(unknown * 100 < tokens, unknown + " of " + tokens + " eval tokens are [UNK]");
  }
}
