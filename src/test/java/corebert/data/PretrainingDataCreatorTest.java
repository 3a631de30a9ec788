package corebert.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Example;

class PretrainingDataCreatorTest {
  @TempDir Path dir;

  /** create-data's settings for {@code inputs} with the vocab in {@code dir}, seed 42. */
  private CreateDataConfig.Builder settings(List<Path> inputs, Path out) {
    return CreateDataConfig.builder(inputs, dir.resolve("vocab.txt"), out).seed(42);
  }

  /** Writes the test corpus and its vocab into {@code dir} and makes one shard of records. */
  private PretrainingDataCreator.Summary createFromTestCorpus(
      UnaryOperator<CreateDataConfig.Builder> set) {
    Path text = TestCorpus.writeText(dir, "brown.txt");
    TestCorpus.writeVocab(dir);
    return PretrainingDataCreator.run(
        set.apply(settings(List.of(text), dir.resolve("out")).shards(1)).build());
  }

  @Test
  void roundTripProducesValidBertRecords() throws Exception {
    Path text = TestCorpus.writeText(dir, "brown.txt");
    Vocab vocab = Vocab.load(TestCorpus.writeVocab(dir));
    Path out = dir.resolve("out");
    PretrainingDataCreator.Summary summary =
        PretrainingDataCreator.run(
            settings(List.of(text), out)
                .maxSeqLength(64)
                .dupeFactor(2)
                .shards(2)
                .threads(2)
                .build());

    assertEquals(6, summary.documents());
    assertTrue(summary.tokens() > 1000, "tokens " + summary.tokens());
    assertEquals(
        List.of(
            out.resolve("part-00000-of-00002.tfrecord"),
            out.resolve("part-00001-of-00002.tfrecord")),
        summary.files());
    try (Stream<Path> listing = Files.list(out)) {
      assertEquals(2, listing.count(), "temporary files must be gone");
    }
    List<Example> examples = readAll(summary.files());
    assertEquals(summary.instances(), examples.size());
    for (Example ex : examples) {
      PretrainingSchema.validate(ex, 64, 20, "record");
      long[] ids = ints(ex, PretrainingSchema.INPUT_IDS);
      long[] mask = ints(ex, PretrainingSchema.INPUT_MASK);
      long[] segments = ints(ex, PretrainingSchema.SEGMENT_IDS);
      int length = (int) sum(mask);
      assertEquals(vocab.clsId(), ids[0]);
      assertEquals(vocab.sepId(), ids[length - 1]);
      for (int i = length; i < 64; i++) {
        assertEquals(0, ids[i]);
        assertEquals(0, segments[i]);
      }
      assertEquals(0, segments[0]);
      assertEquals(1, segments[length - 1]);
      long predictions = Math.round(sum(floats(ex, PretrainingSchema.MASKED_LM_WEIGHTS)));
      assertEquals(Math.min(20, Math.max(1, Math.round(length * 0.15))), predictions);
    }
  }

  @Test
  void outputDoesNotDependOnThreadCount() throws Exception {
    Path text = TestCorpus.writeText(dir, "brown.txt");
    Path second = TestCorpus.write(dir.resolve("second.txt"), TestCorpus.TEXT.replace("the", "a"));
    TestCorpus.writeVocab(dir);
    List<Path> inputs = List.of(text, second);
    IntFunction<PretrainingDataCreator.Summary> withThreads =
        threads ->
            PretrainingDataCreator.run(
                settings(inputs, dir.resolve("threads-" + threads))
                    .maxSeqLength(32)
                    .dupeFactor(3)
                    .shards(3)
                    .threads(threads)
                    .wholeWordMask(true)
                    .build());
    PretrainingDataCreator.Summary one = withThreads.apply(1);
    PretrainingDataCreator.Summary two = withThreads.apply(2);
    PretrainingDataCreator.Summary three = withThreads.apply(3);
    assertEquals(one.instances(), two.instances());
    assertEquals(one.tokens(), three.tokens());
    for (int s = 0; s < 3; s++) {
      byte[] expected = Files.readAllBytes(one.files().get(s));
      assertTrue(expected.length > 0);
      assertArrayEquals(expected, Files.readAllBytes(two.files().get(s)), "shard " + s);
      assertArrayEquals(expected, Files.readAllBytes(three.files().get(s)), "shard " + s);
    }
  }

  @Test
  void maskingFollowsBertStatistics() throws Exception {
    PretrainingDataCreator.Summary summary =
        createFromTestCorpus(c -> c.maxSeqLength(128).dupeFactor(40));
    Vocab vocab = Vocab.load(dir.resolve("vocab.txt"));
    long tokens = 0;
    long predictions = 0;
    long asMask = 0;
    long unchanged = 0;
    long randomNext = 0;
    List<Example> examples = readAll(summary.files());
    for (Example ex : examples) {
      long[] ids = ints(ex, PretrainingSchema.INPUT_IDS);
      long[] positions = ints(ex, PretrainingSchema.MASKED_LM_POSITIONS);
      long[] labels = ints(ex, PretrainingSchema.MASKED_LM_IDS);
      int n = (int) Math.round(sum(floats(ex, PretrainingSchema.MASKED_LM_WEIGHTS)));
      tokens += sum(ints(ex, PretrainingSchema.INPUT_MASK));
      predictions += n;
      for (int k = 0; k < n; k++) {
        long shown = ids[(int) positions[k]];
        asMask += shown == vocab.maskId() ? 1 : 0;
        unchanged += shown == labels[k] ? 1 : 0;
      }
      randomNext += ints(ex, PretrainingSchema.NEXT_SENTENCE_LABELS)[0];
    }
    assertTrue(examples.size() > 300, "instances " + examples.size());
    assertNear(0.15, (double) predictions / tokens, 0.01, "masked fraction");
    assertNear(0.8, (double) asMask / predictions, 0.03, "[MASK] fraction");
    // A random replacement can draw the original token, but with ~250 vocab entries rarely.
    assertNear(0.1, (double) unchanged / predictions, 0.03, "unchanged fraction");
    assertNear(0.1, 1.0 - (double) (asMask + unchanged) / predictions, 0.03, "random fraction");
    // Above 50% on short documents: a chunk of one sentence (often a document's last) always
    // takes a random next, as in BERT.
    assertNear(0.58, (double) randomNext / examples.size(), 0.1, "random next fraction");
  }

  @Test
  void wholeWordMaskingMasksAllPiecesOfAWord() throws Exception {
    PretrainingDataCreator.Summary summary =
        createFromTestCorpus(c -> c.maxSeqLength(64).dupeFactor(5).wholeWordMask(true));
    Vocab vocab = Vocab.load(dir.resolve("vocab.txt"));
    int continuationsMasked = 0;
    for (Example ex : readAll(summary.files())) {
      long[] original = ints(ex, PretrainingSchema.INPUT_IDS).clone();
      long[] positions = ints(ex, PretrainingSchema.MASKED_LM_POSITIONS);
      long[] labels = ints(ex, PretrainingSchema.MASKED_LM_IDS);
      int n = (int) Math.round(sum(floats(ex, PretrainingSchema.MASKED_LM_WEIGHTS)));
      boolean[] masked = new boolean[original.length];
      for (int k = 0; k < n; k++) {
        original[(int) positions[k]] = labels[k];
        masked[(int) positions[k]] = true;
      }
      for (int i = 1; i < original.length; i++) {
        boolean continuation = vocab.token((int) original[i]).startsWith("##");
        // After truncation a segment can start with a ## piece; BERT does not group across
        // [CLS] or [SEP].
        boolean afterSpecial = original[i - 1] == vocab.clsId() || original[i - 1] == vocab.sepId();
        if (continuation && !afterSpecial) {
          assertEquals(masked[i - 1], masked[i], "word split at position " + i);
          continuationsMasked += masked[i] ? 1 : 0;
        }
      }
    }
    assertTrue(continuationsMasked > 10, "masked ## pieces: " + continuationsMasked);
  }

  @Test
  void emptyCorpusIsRejectedAndLeavesNoFiles() throws Exception {
    Path blank = TestCorpus.write(dir.resolve("blank.txt"), "\n  \n\n");
    TestCorpus.writeVocab(dir);
    String message = refusal(blank);
    assertTrue(message.startsWith("corpus is empty: "), message);
    assertTrue(message.contains("blank.txt"), message);
    assertNoFiles(dir.resolve("out"));
  }

  @Test
  void invalidUtf8IsReportedWithFileAndLine() throws Exception {
    Path bad = dir.resolve("bad.txt");
    byte[] prefix = "The jury said .\nIt was fine .\n".getBytes(StandardCharsets.UTF_8);
    byte[] content = new byte[prefix.length + 3];
    System.arraycopy(prefix, 0, content, 0, prefix.length);
    content[prefix.length] = 'x';
    content[prefix.length + 1] = (byte) 0xC3; // a lead byte followed by a non-continuation byte
    content[prefix.length + 2] = '\n';
    Files.write(bad, content);
    TestCorpus.writeVocab(dir);
    String message = refusal(bad);
    assertTrue(message.startsWith(bad + ": line 3: invalid UTF-8"), message);
    assertNoFiles(dir.resolve("out"));
  }

  @Test
  void missingVocabAndBadConfigAreNamed() {
    Path text = TestCorpus.writeText(dir, "brown.txt");
    String vocab = refusal(text);
    assertTrue(vocab.contains(dir.resolve("vocab.txt").toString()), vocab);
    IllegalArgumentException seq =
        assertThrows(
            IllegalArgumentException.class,
            () -> settings(List.of(text), dir.resolve("o")).maxSeqLength(4).build());
    assertEquals("maxSeqLength must be >= 8, got 4", seq.getMessage());
    IllegalArgumentException shards =
        assertThrows(
            IllegalArgumentException.class,
            () -> settings(List.of(text), dir.resolve("o")).shards(0).build());
    assertTrue(shards.getMessage().startsWith("shards"), shards.getMessage());
  }

  @Test
  void refusesOutputDirectoryWithRecords() throws Exception {
    Path text = TestCorpus.writeText(dir, "brown.txt");
    TestCorpus.writeVocab(dir);
    Path out = Files.createDirectories(dir.resolve("out"));
    Files.write(out.resolve("old.tfrecord"), new byte[0]);
    String message = refusal(text);
    assertTrue(message.contains("old.tfrecord"), message);
  }

  /** create-data of {@code input} into dir/out (seq 32, 2 shards, 2 threads) fails: the message. */
  private String refusal(Path input) {
    CreateDataConfig config =
        settings(List.of(input), dir.resolve("out"))
            .maxSeqLength(32)
            .dupeFactor(1)
            .shards(2)
            .threads(2)
            .build();
    return assertThrows(IllegalArgumentException.class, () -> PretrainingDataCreator.run(config))
        .getMessage();
  }

  private static void assertNoFiles(Path dir) throws IOException {
    try (Stream<Path> listing = Files.list(dir)) {
      assertEquals(List.of(), listing.toList());
    }
  }

  static List<Example> readAll(List<Path> files) throws IOException {
    List<Example> examples = new ArrayList<>();
    for (Path file : files) {
      try (TfRecordReader reader = new TfRecordReader(file)) {
        for (byte[] r = reader.next(); r != null; r = reader.next()) {
          examples.add(Example.parseFrom(r));
        }
      }
    }
    return examples;
  }

  static long[] ints(Example ex, String name) {
    return ex.getFeatures().getFeatureOrThrow(name).getInt64List().getValueList().stream()
        .mapToLong(Long::longValue)
        .toArray();
  }

  static double[] floats(Example ex, String name) {
    return ex.getFeatures().getFeatureOrThrow(name).getFloatList().getValueList().stream()
        .mapToDouble(Float::doubleValue)
        .toArray();
  }

  private static long sum(long[] values) {
    long s = 0;
    for (long v : values) {
      s += v;
    }
    return s;
  }

  private static double sum(double[] values) {
    double s = 0;
    for (double v : values) {
      s += v;
    }
    return s;
  }

  private static void assertNear(double expected, double actual, double tolerance, String what) {
    assertTrue(
        Math.abs(expected - actual) <= tolerance,
        what + ": expected " + expected + " +- " + tolerance + ", got " + actual);
  }
}
