package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad input gets one clear line on stderr, exit code 2 (usage) or 1 (runtime), no stack trace, and
 * no output that looks complete.
 */
class BadInputTest {
  @TempDir Path tmp;
  private final BrownFixture data = BrownFixture.get();

  @Test
  void missingInputFileIsAUsageError() {
    Cli.Outcome o = oneStep(data.pretrainOn(tmp + "/nothing/*.tfrecord", out()));
    assertClearError(o, CoreBert.EXIT_USAGE, "no file matches");
    assertFalse(Files.exists(tmp.resolve("out")), "nothing may be written");
  }

  @Test
  void clusterWithAPublicWorkerIsRefusedUnlessAllowed() {
    // 192.0.2.1 is TEST-NET-1: public (not loopback, not private), and nothing listens there.
    Cli.Outcome o =
        oneStep(data.pretrain(out()), "--cluster", "127.0.0.1:1,192.0.2.1:2222", "--task", "1");
    assertClearError(o, CoreBert.EXIT_USAGE, "192.0.2.1:2222 (192.0.2.1) is outside loopback");
    assertTrue(o.err().contains("--allow-public-cluster"), o.err());
    assertFalse(Files.exists(tmp.resolve("out")), "nothing may be written");
  }

  @Test
  void bf16GradientsWithoutCollectiveAllReduceAreRefused() {
    String cluster = "127.0.0.1:1,127.0.0.1:2";
    Cli.Outcome o =
        oneStep(data.pretrain(out()), "--cluster", cluster, "--gradient-precision", "bf16");
    assertClearError(o, CoreBert.EXIT_USAGE, "--gradient-precision needs --all-reduce collective");
    o =
        oneStep(
            data.pretrain(out()),
            "--cluster",
            cluster,
            "--all-reduce",
            "collective",
            "--gradient-precision",
            "fp16");
    assertClearError(o, CoreBert.EXIT_USAGE, "--gradient-precision must be fp32 or bf16");
    assertFalse(Files.exists(tmp.resolve("out")), "nothing may be written");
  }

  @Test
  void emptyCorpusIsRefused() throws IOException {
    Path blank = Files.writeString(tmp.resolve("blank.txt"), "\n\n   \n\n");
    assertCreateDataRefused(blank, data.vocab, "corpus is empty");
    Path empty = Files.write(tmp.resolve("empty.txt"), new byte[0]);
    assertCreateDataRefused(empty, data.vocab, "corpus is empty");
  }

  @Test
  void badCorpusFilesInEveryFormatNameTheFileAndLine() throws IOException {
    String doc = "{\"text\": \"The jury said. It was fine.\"}\n";
    Path noField = Files.writeString(tmp.resolve("nofield.jsonl"), doc + "{\"body\": \"x\"}\n");
    assertCreateDataRefused(noField, data.vocab, "nofield.jsonl: line 2: no \"text\" field");
    Path notJson = Files.writeString(tmp.resolve("notjson.jsonl"), doc + doc + "The jury.\n");
    assertCreateDataRefused(notJson, data.vocab, "notjson.jsonl: line 3: not a JSON object");
    Path latin1 = tmp.resolve("latin1.jsonl");
    Files.write(
        latin1, (doc + "{\"text\": \"caf\u00e9\"}\n").getBytes(StandardCharsets.ISO_8859_1));
    assertCreateDataRefused(latin1, data.vocab, "latin1.jsonl: line 2: invalid UTF-8");
    Path allEmpty = Files.writeString(tmp.resolve("empty.jsonl"), "{\"text\": \"  \"}\n\n");
    assertCreateDataRefused(allEmpty, data.vocab, "corpus is empty");
    // A gzip stream cut in half.
    Path gz = tmp.resolve("cut.txt.gz");
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream z = new java.util.zip.GZIPOutputStream(bytes)) {
      z.write(Files.readAllBytes(Path.of("data/sample/brown-sample-train.txt")));
    }
    byte[] whole = bytes.toByteArray();
    Files.write(gz, java.util.Arrays.copyOf(whole, whole.length / 2));
    assertCreateDataRefused(gz, data.vocab, "cut.txt.gz: truncated gzip stream");
  }

  @Test
  void runRefusesBadCorporaAndLeavesNoStageLookingDone() throws IOException {
    String doc = "{\"text\": \"The jury said. It was fine.\"}\n";
    Path noField = Files.writeString(tmp.resolve("nofield.jsonl"), doc + "{\"body\": \"x\"}\n");
    Path run = tmp.resolve("run");
    assertClearError(runOn(noField, run), 1, "nofield.jsonl: line 2: no \"text\" field");
    assertFalse(Files.exists(run.resolve("text/train.txt")), "the split looks done");
    assertFalse(Files.exists(run.resolve("text/heldout.txt")), "the split looks half done");

    Path one = Files.writeString(tmp.resolve("one.jsonl"), doc);
    assertClearError(runOn(one, tmp.resolve("run-one")), 1, "a held-out split needs at least 2");

    Path notARun = Files.createDirectories(tmp.resolve("not-a-run"));
    Files.writeString(notARun.resolve("notes.txt"), "mine");
    assertClearError(runOn(one, notARun), 1, "holds no run.json: a run starts in a new directory");
  }

  private Cli.Outcome runOn(Path corpus, Path dir) {
    return Cli.run(
        "run", "--text", corpus.toString(), "--output-dir", dir.toString(), "--steps", "4");
  }

  @Test
  void corruptTfRecordNamesTheFile() throws IOException {
    Path bad = tmp.resolve("bad.tfrecord");
    byte[] bytes = Files.readAllBytes(data.trainDir.resolve("part-00000-of-00002.tfrecord"));
    bytes[bytes.length / 2] ^= 0x5a; // one flipped byte deep inside the file
    Files.write(bad, bytes);
    Cli.Outcome o = oneStep(data.pretrainOn(bad.toString(), out()));
    assertClearError(o, CoreBert.EXIT_RUNTIME, "bad.tfrecord: record ");
    assertTrue(o.err().contains("CRC"), o.err());
  }

  @Test
  void recordLengthMustMatchMaxSeqLength() {
    Cli.Outcome o = oneStep(data.pretrain(out()), "--max-seq-length", "128");
    assertClearError(o, CoreBert.EXIT_RUNTIME, "max_seq_length " + BrownFixture.SEQ);
    assertTrue(o.err().contains("part-00000-of-00002.tfrecord"), o.err());
  }

  @Test
  void configWithIndivisibleHeadsIsRefused() throws IOException {
    Path cfg = data.configWith(tmp, "bad_config.json", "hidden_size", "128", "129");
    assertConfigRefused(
        cfg, CoreBert.EXIT_USAGE, "hidden_size (129) must be divisible by num_attention_heads (2)");
  }

  @Test
  void dataFromAnotherVocabIsRefused() throws IOException {
    Path cfg =
        data.configWith(tmp, "small_vocab.json", "vocab_size", "" + BrownFixture.VOCAB_SIZE, "50");
    assertConfigRefused(cfg, CoreBert.EXIT_RUNTIME, "vocab_size is 50");
  }

  @Test
  void unknownCommandAndMissingFlagsAreUsageErrors() {
    assertEquals(CoreBert.EXIT_USAGE, Cli.run("pretrian").code());
    assertClearError(
        Cli.run("pretrain", "--steps", "3"), CoreBert.EXIT_USAGE, "Missing required option");
    assertEquals(0, Cli.run("pretrain", "--help").code());
    assertEquals(0, Cli.run("--help").code());
  }

  @Test
  void truncatedTfRecordNamesFileAndRecord() throws IOException {
    byte[] bytes = Files.readAllBytes(data.trainDir.resolve("part-00000-of-00002.tfrecord"));
    Path cut =
        Files.write(tmp.resolve("cut.tfrecord"), java.util.Arrays.copyOf(bytes, bytes.length - 7));
    Cli.Outcome o = oneStep(data.pretrainOn(cut.toString(), out()));
    assertClearError(o, CoreBert.EXIT_RUNTIME, "cut.tfrecord: record ");
    assertTrue(o.err().contains("truncated"), o.err());
  }

  @Test
  void recordWithoutAFeatureIsRefused() throws IOException {
    Path file = tmp.resolve("no_weights.tfrecord");
    try (corebert.data.TfRecordReader in =
            new corebert.data.TfRecordReader(
                data.trainDir.resolve("part-00000-of-00002.tfrecord"));
        corebert.data.TfRecordWriter out = new corebert.data.TfRecordWriter(file)) {
      org.tensorflow.proto.Example ex = org.tensorflow.proto.Example.parseFrom(in.next());
      out.write(
          ex.toBuilder()
              .setFeatures(ex.getFeatures().toBuilder().removeFeature("masked_lm_weights"))
              .build()
              .toByteArray());
    }
    Cli.Outcome o = oneStep(data.pretrainOn(file.toString(), out()));
    assertClearError(o, CoreBert.EXIT_RUNTIME, "no_weights.tfrecord: record 0");
    assertTrue(o.err().contains("masked_lm_weights"), o.err());
  }

  @Test
  void vocabWithoutSpecialTokensIsRefused() throws IOException {
    Path vocab = Files.write(tmp.resolve("vocab.txt"), List.of("[PAD]", "[UNK]", "the", "a"));
    Path text = Files.writeString(tmp.resolve("t.txt"), "The jury said.\nIt was fine.\n");
    Cli.Outcome o = assertCreateDataRefused(text, vocab, "[CLS]");
    assertTrue(o.err().contains("vocab.txt"), o.err());
  }

  @Test
  void invalidUtf8NamesFileAndLine() throws IOException {
    Path text = tmp.resolve("bad.txt");
    Files.write(text, new byte[] {'O', 'k', '.', '\n', 'B', 'a', (byte) 0xC3, (byte) 0x28, '\n'});
    Cli.Outcome o = assertCreateDataRefused(text, data.vocab, "bad.txt");
    assertTrue(o.err().contains("line 2"), o.err());
  }

  @Test
  void configWithUnknownKeyIsRefused() throws IOException {
    Path cfg =
        Files.writeString(
            tmp.resolve("typo.json"),
            Files.readString(data.config).replace("\"hidden_act\"", "\"hiden_act\""));
    assertConfigRefused(cfg, CoreBert.EXIT_USAGE, "unknown config key(s): ['hiden_act']");
  }

  @Test
  void initCheckpointWithOtherShapesListsTheVariables() throws IOException {
    // A checkpoint of the same model with intermediate size 256 instead of 512.
    Path narrowCfg = data.configWith(tmp, "narrow.json", "intermediate_size", "512", "256");
    try (corebert.train.CheckpointGraph g =
        corebert.train.CheckpointGraph.build(
            corebert.model.BertConfig.fromJsonFile(narrowCfg),
            corebert.model.BertModel.Variant.FULL)) {
      g.save(tmp.resolve("narrow"), 0);
    }
    Cli.Outcome o =
        oneStep(data.pretrain(out()), "--init-checkpoint", tmp.resolve("narrow").toString());
    assertClearError(o, CoreBert.EXIT_RUNTIME, "6 variable(s) have other shapes than the model");
    assertTrue(
        o.err().contains("bert/encoder/layer_1/output/dense/kernel [256, 128] (model [512, 128])"),
        o.err());
  }

  @Test
  void outputDirOfAnotherModelIsRefused() throws IOException {
    Path out = tmp.resolve("out");
    Cli.ok(Cli.run(data.pretrain(out.toString()), "--steps", "1"));
    Path wider = data.configWith(tmp, "wider.json", "intermediate_size", "512", "1024");
    byte[] before = Files.readAllBytes(out.resolve("bert_config.json"));
    assertClearError(
        Cli.run(BrownFixture.pretrainArgs(wider, data.trainGlob(), out.toString()), "--steps", "2"),
        CoreBert.EXIT_RUNTIME,
        "holds checkpoints of a different model (intermediate_size 512 vs 1024)");
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        before, Files.readAllBytes(out.resolve("bert_config.json")));
    assertClearError(
        Cli.run(data.pretrainRelaxed(out), "--steps", "2"),
        CoreBert.EXIT_RUNTIME,
        "holds checkpoints of the full model");
  }

  /** A full disk while saving: a clear error, and no checkpoint that looks complete. */
  @Test
  void diskFullWhileSavingLeavesNoHalfCheckpoint() throws Exception {
    Path disk = Files.createDirectories(tmp.resolve("disk"));
    Process mount =
        new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk.toString())
            .redirectErrorStream(true)
            .start();
    org.junit.jupiter.api.Assumptions.assumeTrue(
        mount.waitFor() == 0, "needs root to mount a 3 MB tmpfs (CI runs as root)");
    try {
      Cli.Outcome o = Cli.run(data.pretrain(disk.resolve("out").toString()), "--steps", "2");
      assertClearError(o, CoreBert.EXIT_RUNTIME, "cannot save checkpoint");
      assertTrue(corebert.train.Checkpoints.latest(disk.resolve("out")).isEmpty());
      try (var s = Files.list(disk.resolve("out"))) {
        assertFalse(
            s.anyMatch(
                p ->
                    p.getFileName().toString().startsWith(".tmp-")
                        || p.getFileName().toString().endsWith(".index")),
            "no partial checkpoint");
      }
    } finally {
      new ProcessBuilder("umount", disk.toString()).start().waitFor();
    }
  }

  private String out() {
    return tmp.resolve("out").toString();
  }

  /** One pretraining step: {@code pretrain} arguments, {@code --steps 1}, and {@code more}. */
  private static Cli.Outcome oneStep(List<String> pretrain, String... more) {
    return Cli.run(Cli.args(pretrain, "--steps", "1"), more);
  }

  /** One pretraining step with {@code config} fails with {@code expected}. */
  private void assertConfigRefused(Path config, int code, String expected) {
    assertClearError(
        oneStep(BrownFixture.pretrainArgs(config, data.trainGlob(), out())), code, expected);
  }

  /** `create-data` of {@code text} fails with {@code expected} and writes no TFRecord. */
  private Cli.Outcome assertCreateDataRefused(Path text, Path vocab, String expected)
      throws IOException {
    Path records = tmp.resolve("records");
    Cli.Outcome o =
        Cli.run(
            "create-data",
            "--input",
            text.toString(),
            "--vocab",
            vocab.toString(),
            "--output",
            records.toString());
    assertClearError(o, CoreBert.EXIT_RUNTIME, expected);
    assertNoTfRecords(records);
    return o;
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
