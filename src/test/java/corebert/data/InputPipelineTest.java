package corebert.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.PretrainingHeads;
import corebert.model.VariableStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TFOutOfRangeException;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.Example;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

class InputPipelineTest {
  static final int SEQ = 8;
  static final int PRED = 3;
  static final int BATCH = 2;

  /** Records per shard: 7 in all, so eval ends with a partial batch of 1. */
  static final int[] SHARD_SIZES = {3, 2, 2};

  @TempDir Path dir;

  /** One record as the pipeline returns it, padded. */
  record Row(
      int[] ids,
      int[] mask,
      int[] segments,
      int[] positions,
      int[] labels,
      float[] weights,
      int nsp) {
    /** The record's identity: the token after [CLS] is 10 + its index. */
    int key() {
      return ids[1] - 10;
    }
  }

  /** Instance k: 6 tokens, 2 predictions for even k and 1 for odd k, random next for odd k. */
  static TrainingInstance instance(int k) {
    boolean odd = k % 2 == 1;
    return new TrainingInstance(
        new int[] {2, 10 + k, 20 + k, 3, 30 + k, 3},
        new int[] {0, 0, 0, 0, 1, 1},
        odd ? new int[] {2} : new int[] {1, 4},
        odd ? new int[] {60 + k} : new int[] {40 + k, 50 + k},
        odd);
  }

  /** What instance k must read back as, padded by hand with 0. */
  static Row expected(int k) {
    boolean odd = k % 2 == 1;
    return new Row(
        new int[] {2, 10 + k, 20 + k, 3, 30 + k, 3, 0, 0},
        new int[] {1, 1, 1, 1, 1, 1, 0, 0},
        new int[] {0, 0, 0, 0, 1, 1, 0, 0},
        odd ? new int[] {2, 0, 0} : new int[] {1, 4, 0},
        odd ? new int[] {60 + k, 0, 0} : new int[] {40 + k, 50 + k, 0},
        odd ? new float[] {1, 0, 0} : new float[] {1, 1, 0},
        odd ? 1 : 0);
  }

  List<Path> writeShards() {
    List<Path> files = new ArrayList<>();
    int k = 0;
    for (int shard = 0; shard < SHARD_SIZES.length; shard++) {
      Path file = dir.resolve("shard-" + shard + ".tfrecord");
      try (TfRecordWriter writer = new TfRecordWriter(file)) {
        for (int i = 0; i < SHARD_SIZES[shard]; i++) {
          writer.write(PretrainingSchema.toExample(instance(k++), SEQ, PRED).toByteArray());
        }
      }
      files.add(file);
    }
    return files;
  }

  @Test
  void evalReadsEveryRecordOnceInOrderWithPartialLastBatch() {
    List<Path> files = writeShards();
    List<List<Row>> batches = readAll(files, false, 1, 0);
    assertEquals(List.of(2, 2, 2, 1), batches.stream().map(List::size).toList());
    List<Row> rows = batches.stream().flatMap(List::stream).toList();
    for (int k = 0; k < rows.size(); k++) {
      assertRowEquals(expected(k), rows.get(k));
    }
  }

  @Test
  void readsARecordInGoogleResearchBertsLayout() {
    // As create_pretraining_data.py's write_instance_to_example_files builds it.
    Example ex = Example.newBuilder().setFeatures(PretrainingSchemaTest.bertLayout()).build();
    Path file = dir.resolve("google.tfrecord");
    try (TfRecordWriter writer = new TfRecordWriter(file)) {
      writer.write(ex.toByteArray());
    }
    InputPipeline.DataShape shape = InputPipeline.inspect(List.of(file));
    assertEquals(SEQ, shape.maxSeqLength());
    assertEquals(PRED, shape.maxPredictions());
    List<List<Row>> batches = readAll(List.of(file), false, 1, 0);
    assertEquals(1, batches.size());
    assertEquals(1, batches.get(0).size());
    assertRowEquals(
        new Row(
            new int[] {2, 7, 4, 3, 9, 10, 3, 0},
            new int[] {1, 1, 1, 1, 1, 1, 1, 0},
            new int[] {0, 0, 0, 0, 1, 1, 1, 0},
            new int[] {2, 0, 0},
            new int[] {8, 0, 0},
            new float[] {1, 0, 0},
            1),
        batches.get(0).get(0));
  }

  @Test
  void trainingEpochInterleavesEveryShardAndResumesAtARecord() {
    List<Path> files = writeShards();
    // One epoch: 7 records in full batches of 2, each record at most once, whole.
    List<List<Row>> epoch = readAll(files, true, 4, 0);
    assertEquals(3, epoch.size());
    Set<Integer> seen = new TreeSet<>();
    List<Integer> order = new ArrayList<>();
    for (List<Row> batch : epoch) {
      assertEquals(BATCH, batch.size());
      for (Row row : batch) {
        int k = row.key();
        assertTrue(k >= 0 && k < 7, "unknown record " + k);
        assertRowEquals(expected(k), row); // records stay whole through shuffling
        assertTrue(seen.add(k), "record " + k + " twice in one epoch");
        order.add(k);
      }
    }
    assertEquals(6, seen.size(), "6 of the 7 records; the 7th would be a partial batch");
    // The same seed skipping 2 records continues the same order at its third record.
    List<Integer> resumed = new ArrayList<>();
    readAll(files, true, 4, 2).forEach(batch -> batch.forEach(row -> resumed.add(row.key())));
    assertEquals(order.subList(2, 6), resumed);
    // Without shuffling the order is round-robin over the shards {0,1,2}, {3,4}, {5,6}; reading
    // the shards one after another would give 0..5.
    List<Integer> unshuffled = new ArrayList<>();
    readAll(files, true, 1, 0).forEach(batch -> batch.forEach(row -> unshuffled.add(row.key())));
    assertEquals(List.of(0, 3, 5, 1, 4, 6), unshuffled);
  }

  @Test
  void evalBatchesFeedTheModelIncludingThePartialBatch() {
    List<Path> files = writeShards();
    BertConfig cfg = new BertConfig(100, 32, 2, 2, 64, "gelu", 0, 0, 16, 2, 0.02, Optional.empty());
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      InputPipeline.Pipeline p =
          InputPipeline.build(tf, files, BATCH, SEQ, PRED, false, 1, InputPipeline.Shard.ALL);
      InputPipeline.Batch b = p.batch();
      BertModel.Outputs encoder =
          BertModel.build(
              tf,
              cfg,
              BertModel.Variant.FULL,
              b.inputIds(),
              b.inputMask(),
              b.segmentIds(),
              1,
              VariableStore.create());
      PretrainingHeads.Losses losses =
          PretrainingHeads.build(
              tf,
              cfg,
              encoder,
              b.maskedLmPositions(),
              b.maskedLmIds(),
              b.maskedLmWeights(),
              b.nextSentenceLabels(),
              1,
              VariableStore.create());
      try (Session session = new Session(graph)) {
        session.initialize();
        session.run(p.init());
        List<Long> rows = new ArrayList<>();
        List<Float> weightSums = new ArrayList<>();
        while (true) {
          try (Result r =
              session
                  .runner()
                  .fetch(encoder.sequenceOutput())
                  .fetch(losses.total())
                  .fetch(losses.mlmWeightSum())
                  .run()) {
            rows.add(r.get(0).shape().get(0));
            assertTrue(Float.isFinite(((TFloat32) r.get(1)).getFloat()));
            weightSums.add(((TFloat32) r.get(2)).getFloat());
          } catch (TFOutOfRangeException end) {
            break;
          }
        }
        assertEquals(List.of(16L, 16L, 16L, 8L), rows);
        // Instances 0..6 have 2, 1, 2, 1, 2, 1, 2 predictions.
        assertEquals(List.of(3f, 3f, 3f, 2f), weightSums);
      }
    }
  }

  @Test
  void inspectNamesTheFileWhoseLengthsDiffer() {
    List<Path> files = new ArrayList<>(writeShards());
    assertEquals(SEQ, InputPipeline.inspect(files).maxSeqLength());
    Path longer = dir.resolve("seq10.tfrecord");
    try (TfRecordWriter writer = new TfRecordWriter(longer)) {
      writer.write(PretrainingSchema.toExample(instance(0), 10, PRED).toByteArray());
    }
    files.add(1, longer);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> InputPipeline.inspect(files));
    assertTrue(e.getMessage().contains(longer.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("10"), e.getMessage());
  }

  /** Every batch of one pass: eval mode in order, training mode one epoch with seed 42. */
  private static List<List<Row>> readAll(
      List<Path> files, boolean training, int shuffleBuffer, long skip) {
    List<List<Row>> batches = new ArrayList<>();
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      InputPipeline.Pipeline p =
          InputPipeline.build(
              tf, files, BATCH, SEQ, PRED, training, shuffleBuffer, InputPipeline.Shard.ALL);
      InputPipeline.Batch b = p.batch();
      try (Session session = new Session(graph)) {
        if (training) {
          try (TInt64 seed = TInt64.scalarOf(42L);
              TInt64 skipped = TInt64.scalarOf(skip)) {
            session
                .runner()
                .feed(p.shuffleSeed(), seed)
                .feed(p.skip(), skipped)
                .addTarget(p.init())
                .run();
          }
        } else {
          session.run(p.init());
        }
        while (true) {
          try (Result r =
              session
                  .runner()
                  .fetch(b.inputIds())
                  .fetch(b.inputMask())
                  .fetch(b.segmentIds())
                  .fetch(b.maskedLmPositions())
                  .fetch(b.maskedLmIds())
                  .fetch(b.maskedLmWeights())
                  .fetch(b.nextSentenceLabels())
                  .run()) {
            batches.add(rows(r));
          } catch (TFOutOfRangeException end) {
            break;
          }
        }
      }
    }
    return batches;
  }

  private static List<Row> rows(Result r) {
    int[][] ids = StdArrays.array2dCopyOf((TInt32) r.get(0));
    int[][] mask = StdArrays.array2dCopyOf((TInt32) r.get(1));
    int[][] segments = StdArrays.array2dCopyOf((TInt32) r.get(2));
    int[][] positions = StdArrays.array2dCopyOf((TInt32) r.get(3));
    int[][] labels = StdArrays.array2dCopyOf((TInt32) r.get(4));
    float[][] weights = StdArrays.array2dCopyOf((TFloat32) r.get(5));
    int[] nsp = StdArrays.array1dCopyOf((TInt32) r.get(6));
    List<Row> out = new ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      out.add(new Row(ids[i], mask[i], segments[i], positions[i], labels[i], weights[i], nsp[i]));
    }
    return out;
  }

  private static void assertRowEquals(Row want, Row got) {
    assertArrayEquals(want.ids(), got.ids(), "input_ids");
    assertArrayEquals(want.mask(), got.mask(), "input_mask");
    assertArrayEquals(want.segments(), got.segments(), "segment_ids");
    assertArrayEquals(want.positions(), got.positions(), "masked_lm_positions");
    assertArrayEquals(want.labels(), got.labels(), "masked_lm_ids");
    assertArrayEquals(want.weights(), got.weights(), 0f, "masked_lm_weights");
    assertEquals(want.nsp(), got.nsp(), "next_sentence_labels");
  }
}
