package corebert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectDataTest {
  @TempDir Path dir;

  private List<Path> create(Path out, int maxSeq) {
    Path text = TestCorpus.writeText(dir, "brown.txt");
    TestCorpus.writeVocab(dir);
    return PretrainingDataCreator.run(
            CreateDataConfig.builder(List.of(text), dir.resolve("vocab.txt"), out)
                .maxSeqLength(maxSeq)
                .maxPredictionsPerSeq(7)
                .dupeFactor(1)
                .shards(2)
                .seed(1)
                .build())
        .files();
  }

  @Test
  void validatesAllRecordsAndPrintsDecodedExamples() {
    List<Path> files = create(dir.resolve("out"), 48);
    Vocab vocab = Vocab.load(dir.resolve("vocab.txt"));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    InspectData.Summary summary =
        InspectData.run(files, 2, vocab, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(2, summary.files());
    assertEquals(48, summary.maxSeqLength());
    assertEquals(7, summary.maxPredictionsPerSeq());
    assertTrue(summary.records() > 10);
    assertEquals(2, printed.split("example ", -1).length - 1, printed);
    assertTrue(printed.contains("  tokens: [CLS] "), printed);
    assertTrue(printed.contains("[MASK]"), printed);
    assertTrue(printed.contains("  is_random_next: "), printed);
    assertEquals(
        "{\"files\":2,\"records\":"
            + summary.records()
            + ",\"max_seq_length\":48,\"max_predictions_per_seq\":7}",
        summary.toJson());
  }

  @Test
  void inconsistentLengthsNameTheFileAndRecord() throws Exception {
    Path first = create(dir.resolve("a"), 48).get(0);
    Path other = dir.resolve("other.tfrecord");
    try (TfRecordWriter writer = new TfRecordWriter(other)) {
      TrainingInstance inst =
          new TrainingInstance(
              new int[] {2, 5, 3, 6, 3},
              new int[] {0, 0, 0, 1, 1},
              new int[] {1},
              new int[] {9},
              false);
      writer.write(PretrainingSchema.toExample(inst, 48, 7).toByteArray());
      writer.write(PretrainingSchema.toExample(inst, 40, 7).toByteArray());
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> InspectData.run(List.of(first, other), 0, null, System.out));
    assertTrue(
        e.getMessage()
            .startsWith(
                other + ": record 1: feature 'input_ids': expected int64_list of length 48"),
        e.getMessage());
  }

  @Test
  void corruptRecordStopsTheScan() throws Exception {
    Path file = create(dir.resolve("out"), 32).get(1);
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 10] ^= 0x40;
    Files.write(file, bytes);
    CorruptRecordException e =
        assertThrows(
            CorruptRecordException.class,
            () -> InspectData.run(List.of(file), 0, null, System.out));
    assertTrue(e.getMessage().startsWith(file + ": record "), e.getMessage());
    assertTrue(e.getMessage().endsWith("data CRC mismatch"), e.getMessage());
  }

  @Test
  void notAnExampleIsReported() throws Exception {
    Path file = dir.resolve("junk.tfrecord");
    try (TfRecordWriter writer = new TfRecordWriter(file)) {
      writer.write(new byte[] {(byte) 0xff, (byte) 0xff, 0x01});
    }
    CorruptRecordException e =
        assertThrows(
            CorruptRecordException.class,
            () -> InspectData.run(List.of(file), 0, null, System.out));
    assertTrue(
        e.getMessage().startsWith(file + ": record 0: not a tf.train.Example"), e.getMessage());
  }
}
