package corebert.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.BertModel.Variant;
import corebert.model.Endpoints;
import corebert.model.VariableStore;
import corebert.train.CheckpointGraph;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/** The exported SavedModel computes what the training graph's encoder computes. */
class SavedModelExportTest {
  private static final String TINY =
      "{\"vocab_size\": 50, \"hidden_size\": 32, \"num_hidden_layers\": 2,"
          + " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"max_position_embeddings\": 16}";
  private static final int[][] IDS = {
    {2, 17, 33, 9, 3, 0}, {2, 5, 3, 41, 12, 3}, {2, 8, 3, 0, 0, 0}
  };
  private static final int[][] MASK = {{1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 1}, {1, 1, 1, 0, 0, 0}};
  private static final int[][] TYPES = {{0, 0, 0, 0, 0, 0}, {0, 0, 0, 1, 1, 1}, {0, 0, 0, 0, 0, 0}};

  @TempDir Path dir;

  @Test
  void savedModelMatchesTheEncoderAndCarriesItsAssets() throws Exception {
    BertConfig cfg = BertConfig.fromJson(TINY);
    Path checkpoint;
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.FULL)) {
      checkpoint = g.save(dir.resolve("ckpt"), 5); // random, non-trivial weights
    }
    Path vocab =
        Files.write(
            dir.resolve("vocab.txt"), List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
    Path out = dir.resolve("saved");
    SavedModelExport.export(cfg, checkpoint, vocab, out);

    assertTrue(Files.exists(out.resolve("saved_model.pb")));
    assertEquals(Files.readAllLines(vocab), Files.readAllLines(out.resolve("assets/vocab.txt")));
    assertEquals(cfg, BertConfig.fromJsonFile(out.resolve("assets/bert_config.json")));

    float[] expectedSequence;
    float[] expectedPooled;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      BertModel.Outputs o =
          BertModel.build(
              tf,
              cfg.withoutDropout(),
              Variant.FULL,
              tf.constant(IDS),
              tf.constant(MASK),
              tf.constant(TYPES),
              0,
              VariableStore.create());
      try (Session s = new Session(g)) {
        s.initialize();
        s.restore(checkpoint.toString());
        try (Result r = s.runner().fetch(o.sequenceOutput()).fetch(o.pooledOutput()).run()) {
          expectedSequence = values((TFloat32) r.get(0));
          expectedPooled = values((TFloat32) r.get(1));
        }
      }
    }

    try (SavedModelBundle model = SavedModelBundle.load(out.toString(), SavedModelExport.TAG);
        TInt32 ids = TInt32.tensorOf(StdArrays.ndCopyOf(IDS));
        TInt32 mask = TInt32.tensorOf(StdArrays.ndCopyOf(MASK));
        TInt32 types = TInt32.tensorOf(StdArrays.ndCopyOf(TYPES));
        Result r =
            model
                .function("serving_default")
                .call(
                    Map.<String, Tensor>of(
                        Endpoints.SERVING_WORD_IDS, ids,
                        Endpoints.SERVING_MASK, mask,
                        Endpoints.SERVING_TYPE_IDS, types))) {
      TFloat32 sequence = (TFloat32) r.get(Endpoints.SEQUENCE_OUTPUT).orElseThrow();
      TFloat32 pooled = (TFloat32) r.get(Endpoints.POOLED_OUTPUT).orElseThrow();
      assertEquals(org.tensorflow.ndarray.Shape.of(3, 6, 32), sequence.shape());
      assertEquals(org.tensorflow.ndarray.Shape.of(3, 32), pooled.shape());
      assertClose(expectedSequence, values(sequence));
      assertClose(expectedPooled, values(pooled));
    }
  }

  @Test
  void aRelaxedCheckpointIsRefusedAndNothingIsLeft() throws Exception {
    BertConfig cfg =
        BertConfig.fromJson(
            TINY.replace("}", ", \"relaxed\": {\"attention\": \"linear_elu\", \"ffn_rank\": 4}}"));
    Path checkpoint;
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.RELAXED)) {
      checkpoint = g.save(dir.resolve("relaxed"), 1);
    }
    Path vocab = Files.write(dir.resolve("vocab.txt"), List.of("[PAD]"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> SavedModelExport.export(cfg, checkpoint, vocab, dir.resolve("saved")));
    assertTrue(
        e.getMessage().contains("a relaxed checkpoint must be converted first"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("saved")));
    assertFalse(Files.exists(dir.resolve(".saved.tmp")));
  }

  private static float[] values(TFloat32 t) {
    float[] x = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(x, false, false));
    return x;
  }

  private static void assertClose(float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length);
    double max = 0;
    for (int i = 0; i < expected.length; i++) {
      max = Math.max(max, Math.abs(expected[i] - actual[i]));
    }
    assertTrue(max < 1e-5, "max |difference| " + max);
    assertTrue(expected.length > 0 && Math.abs(expected[0]) + Math.abs(expected[1]) > 0);
  }
}
