package corebert.surgery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/** Surgery on a tiny relaxed checkpoint with random weights and optimizer moments. */
class SurgeryTest {
  private static final String TINY =
      "{\"vocab_size\": 100, \"hidden_size\": 32, \"num_hidden_layers\": 2,"
          + " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"max_position_embeddings\": 16,"
          + " \"relaxed\": {\"attention\": \"linear_elu\", \"ffn_rank\": 4}}";

  @TempDir Path dir;

  @Test
  void ffnOutputsMatchAndSharedVariablesCarryOver() throws Exception {
    BertConfig cfg = BertConfig.fromJson(TINY);
    Path relaxed = writeRelaxedCheckpoint(cfg, dir.resolve("relaxed"), 42);

    Surgery.Report r = Surgery.convert(cfg, relaxed, dir.resolve("full"));
    assertEquals(42, r.step());
    assertEquals(2 * 2, r.rebuilt(), "two FFN kernels per layer");
    assertEquals(0.0, r.maxCopiedDifference());
    assertTrue(r.maxFfnDifference() < 1e-5, "FFN outputs differ by " + r.maxFfnDifference());

    String kernel = "bert/encoder/layer_1/intermediate/dense/kernel";
    String moments = "bert/embeddings/word_embeddings/adam_v";
    Map<String, float[]> full =
        read(cfg, Variant.FULL, r.checkpoint(), List.of(kernel, kernel + "/adam_m", moments));
    Map<String, float[]> source =
        read(cfg, Variant.RELAXED, relaxed, List.of(moments, kernel + "_u", kernel + "_v"));
    assertEquals(0f, maxAbs(full.get(kernel + "/adam_m")), "rebuilt kernel's moments start at 0");
    assertTrue(maxAbs(source.get(moments)) > 0);
    assertArrayEquals(source.get(moments), full.get(moments), "moments carry over");
    assertProduct(
        source.get(kernel + "_u"), source.get(kernel + "_v"), full.get(kernel), 32, 4, 64);
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.FULL)) {
      g.restore(r.checkpoint().toString());
      try (Result step = g.read(List.of("global_step"))) {
        assertEquals(42, ((TInt64) step.get(0)).getLong());
      }
    }
  }

  /** The float variables {@code names} of a {@code variant} checkpoint, copied to the host. */
  private static Map<String, float[]> read(
      BertConfig cfg, Variant variant, Path checkpoint, List<String> names) {
    Map<String, float[]> values = new HashMap<>();
    try (CheckpointGraph g = CheckpointGraph.build(cfg, variant)) {
      g.restore(checkpoint.toString());
      try (Result r = g.read(names)) {
        for (int i = 0; i < names.size(); i++) {
          values.put(names.get(i), values((TFloat32) r.get(i)));
        }
      }
    }
    return values;
  }

  @Test
  void deeperRelaxationRebuildsTheAttentionKernelsExactlyToo() throws Exception {
    BertConfig cfg =
        BertConfig.fromJson(
            TINY.replace("\"ffn_rank\": 4}", "\"ffn_rank\": 4, \"attention_rank\": 3}"));
    assertEquals(3, cfg.requireRelaxed().attentionRank());
    Path relaxed = writeRelaxedCheckpoint(cfg, dir.resolve("relaxed"), 7);

    Surgery.Report r = Surgery.convert(cfg, relaxed, dir.resolve("full"));
    assertEquals(2 * (2 + 4), r.rebuilt(), "per layer: two FFN kernels and Q, K, V, O");
    assertTrue(r.maxDenseDifference() < 1e-5, "dense outputs differ by " + r.maxDenseDifference());
    assertTrue(r.maxFfnDifference() < 1e-5, "FFN outputs differ by " + r.maxFfnDifference());

    String value = "bert/encoder/layer_0/attention/self/value/kernel";
    String out = "bert/encoder/layer_1/attention/output/dense/kernel";
    Map<String, float[]> full =
        read(cfg, Variant.FULL, r.checkpoint(), List.of(value, out, value + "/adam_v"));
    Map<String, float[]> source =
        read(
            cfg,
            Variant.RELAXED,
            relaxed,
            List.of(value + "_u", value + "_v", out + "_u", out + "_v"));
    assertProduct(source.get(value + "_u"), source.get(value + "_v"), full.get(value), 32, 3, 32);
    assertProduct(source.get(out + "_u"), source.get(out + "_v"), full.get(out), 32, 3, 32);
    assertEquals(0f, maxAbs(full.get(value + "/adam_v")), "rebuilt kernel's moments start at 0");
  }

  /** W [a, b] equals U [a, r] · V [r, b], checked on the host in double precision. */
  private static void assertProduct(float[] u, float[] v, float[] w, int a, int rank, int b) {
    for (int i = 0; i < a; i++) {
      for (int j = 0; j < b; j++) {
        double expected = 0;
        for (int k = 0; k < rank; k++) {
          expected += (double) u[i * rank + k] * v[k * b + j];
        }
        assertEquals(expected, w[i * b + j], 1e-6, "W[" + i + "][" + j + "]");
      }
    }
  }

  @Test
  void checkpointOfAnotherConfigIsRefusedAndNothingIsWritten() throws Exception {
    BertConfig cfg = BertConfig.fromJson(TINY);
    Path relaxed = writeRelaxedCheckpoint(cfg, dir.resolve("relaxed"), 1);
    cfg.writeTo(dir.resolve("relaxed/bert_config.json"));
    BertConfig wider =
        BertConfig.fromJson(TINY.replace("\"hidden_size\": 32", "\"hidden_size\": 48"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Surgery.convert(wider, relaxed, dir.resolve("out")));
    assertTrue(e.getMessage().contains("hidden_size 32 vs 48"), e.getMessage());
    assertTrue(Checkpoints.latest(dir.resolve("out")).isEmpty());

    // Without the saved config, the restore itself refuses the shapes.
    Files.delete(dir.resolve("relaxed/bert_config.json"));
    BertConfig deeper =
        BertConfig.fromJson(TINY.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Surgery.convert(deeper, relaxed, dir.resolve("out2")));
    assertTrue(e.getMessage().contains("not a relaxed checkpoint of this config"), e.getMessage());
    assertFalse(
        Files.exists(dir.resolve("out2")) && Checkpoints.latest(dir.resolve("out2")).isPresent());
  }

  /** A relaxed checkpoint with random weights, random moments and the given step. */
  private static Path writeRelaxedCheckpoint(BertConfig cfg, Path out, long step) {
    Random random = new Random(7);
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.RELAXED)) {
      for (String name : g.names()) {
        if (!g.isFloat(name)) {
          try (TInt64 s = TInt64.scalarOf(name.equals("global_step") ? step : 3)) {
            g.write(name, s);
          }
          continue;
        }
        try (TFloat32 t = TFloat32.tensorOf(g.shape(name))) {
          float[] x = new float[(int) g.shape(name).size()];
          for (int i = 0; i < x.length; i++) {
            x[i] =
                (float)
                    (name.endsWith("adam_v") ? random.nextDouble() : random.nextGaussian() * 0.1);
          }
          t.copyFrom(DataBuffers.of(x, true, false));
          g.write(name, t);
        }
      }
      return g.save(out, step);
    }
  }

  private static float[] values(TFloat32 t) {
    float[] x = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(x, false, false));
    return x;
  }

  private static float maxAbs(float[] values) {
    float m = 0;
    for (float x : values) {
      m = Math.max(m, Math.abs(x));
    }
    return m;
  }
}
