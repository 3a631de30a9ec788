package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input gets one clear line on stderr, exit code 2 (usage) or 1 (runtime), no stack trace,
 * and no output that looks complete.
 */
class BadInputTest {
  @TempDir Path tmp;

  @Test
  void missingInputFileIsAUsageError() {
    BrownFixture data = BrownFixture.get();
    Cli.Outcome o =
        Cli.run(
            "pretrain", "--config", data.config.toString(), "--input", tmp + "/nothing/*.tfrecord",
            "--output-dir", tmp.resolve("out").toString(), "--steps", "1");
    assertClearError(o, CoreBert.EXIT_USAGE, "no file matches");
    assertFalse(Files.exists(tmp.resolve("out")), "nothing may be written");
  }

  @Test
  void emptyCorpusIsRefused() throws IOException {
    BrownFixture data = BrownFixture.get();
    Path blank = Files.writeString(tmp.resolve("blank.txt"), "\n\n   \n\n");
    Cli.Outcome o =
        Cli.run(
            "create-data", "--input", blank.toString(), "--vocab", data.vocab.toString(),
            "--output", tmp.resolve("records").toString());
    assertClearError(o, CoreBert.EXIT_RUNTIME, "corpus is empty");
    assertNoTfRecords(tmp.resolve("records"));
  }

  @Test
  void corruptTfRecordNamesTheFile() throws IOException {
    BrownFixture data = BrownFixture.get();
    Path bad = tmp.resolve("bad.tfrecord");
    byte[] bytes =
        Files.readAllBytes(data.trainDir.resolve("part-00000-of-00002.tfrecord"));
    bytes[bytes.length / 2] ^= 0x5a; // one flipped byte deep inside the file
    Files.write(bad, bytes);
    Cli.Outcome o =
        Cli.run(
            "pretrain", "--config", data.config.toString(), "--input", bad.toString(),
            "--output-dir", tmp.resolve("out").toString(), "--steps", "1");
    assertClearError(o, CoreBert.EXIT_RUNTIME, "bad.tfrecord: record ");
    assertTrue(o.err().contains("CRC"), o.err());
  }

  @Test
  void recordLengthMustMatchMaxSeqLength() {
    BrownFixture data = BrownFixture.get();
    Cli.Outcome o =
        Cli.run(
            "pretrain", "--config", data.config.toString(), "--input", data.trainGlob(),
            "--output-dir", tmp.resolve("out").toString(), "--steps", "1",
            "--max-seq-length", "128");
    assertClearError(o, CoreBert.EXIT_RUNTIME, "max_seq_length " + BrownFixture.SEQ);
    assertTrue(o.err().contains("part-00000-of-00002.tfrecord"), o.err());
  }

  @Test
  void configWithIndivisibleHeadsIsRefused() throws IOException {
    BrownFixture data = BrownFixture.get();
    Path cfg =
        Files.writeString(
            tmp.resolve("bad_config.json"),
            Files.readString(data.config).replace("\"hidden_size\": 128", "\"hidden_size\": 129"));
    Cli.Outcome o =
        Cli.run(
            "pretrain", "--config", cfg.toString(), "--input", data.trainGlob(),
            "--output-dir", tmp.resolve("out").toString(), "--steps", "1");
    assertClearError(o, CoreBert.EXIT_USAGE, "hidden_size (129) must be divisible by num_attention_heads (2)");
  }

  @Test
  void dataFromAnotherVocabIsRefused() throws IOException {
    BrownFixture data = BrownFixture.get();
    Path cfg =
        Files.writeString(
            tmp.resolve("small_vocab.json"),
            Files.readString(data.config)
                .replace("\"vocab_size\": " + BrownFixture.VOCAB_SIZE, "\"vocab_size\": 50"));
    Cli.Outcome o =
        Cli.run(
            "pretrain", "--config", cfg.toString(), "--input", data.trainGlob(),
            "--output-dir", tmp.resolve("out").toString(), "--steps", "1");
    assertClearError(o, CoreBert.EXIT_RUNTIME, "vocab_size is 50");
  }

  @Test
  void unknownCommandAndMissingFlagsAreUsageErrors() {
    assertEquals(CoreBert.EXIT_USAGE, Cli.run("pretrian").code());
    assertClearError(Cli.run("pretrain", "--steps", "3"), CoreBert.EXIT_USAGE, "Missing required option");
    assertEquals(0, Cli.run("pretrain", "--help").code());
    assertEquals(0, Cli.run("--help").code());
  }

  private static void assertClearError(Cli.Outcome o, int code, String expected) {
    assertEquals(code, o.code(), () -> "exit code; stderr: " + o.err());
    assertTrue(o.err().contains(expected), () -> "stderr lacks '" + expected + "': " + o.err());
    assertFalse(o.err().contains("\tat "), () -> "stack trace on stderr: " + o.err());
    assertEquals("", o.out().strip(), "errors leave stdout empty");
  }

  private static void assertNoTfRecords(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      try (var s = Files.list(dir)) {
        assertFalse(s.anyMatch(p -> p.toString().endsWith(".tfrecord")));
      }
    }
  }
}
