package corebert.surgery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.HandMadeRecords;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
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

  @Test
  void softmaxRelaxationMakesTheWholeSwitchExact() throws Exception {
    Path records = HandMadeRecords.write(dir.resolve("heldout.tfrecord"), label -> 4);
    for (String attention : List.of("softmax", "linear_elu")) {
      BertConfig cfg = BertConfig.fromJson(TINY.replace("linear_elu", attention));
      // Weights of scale 0.3 (not 0.1), so that attention is far from uniform and the logits far
      // from flat.
      Path relaxed = writeRelaxedCheckpoint(cfg, dir.resolve(attention + "-relaxed"), 5, 0.3);
      Surgery.Report r = Surgery.convert(cfg, relaxed, dir.resolve(attention + "-full"));
      Evaluator.HeldOut heldOut =
          new Evaluator.HeldOut(List.of(records), List.of(), OptionalInt.of(4));
      Map<String, Object> before = Evaluator.evaluate(cfg, Variant.RELAXED, relaxed, heldOut, 6);
      Map<String, Object> after = Evaluator.evaluate(cfg, Variant.FULL, r.checkpoint(), heldOut, 6);
      double jump = num(after, "mlm_loss") - num(before, "mlm_loss");
      System.err.printf("%s relaxation: held-out loss jumps by %.2e at surgery%n", attention, jump);
      if (attention.equals("softmax")) {
        // Only kernels were factorised: the converted model computes the relaxed one's function.
        assertEquals(0, jump, 1e-5, "switch jump with a softmax relaxation");
        assertEquals(num(before, "mlm_accuracy"), num(after, "mlm_accuracy"));
      } else {
        // Linear attention gives way to softmax: the function changes at the switch.
        assertTrue(Math.abs(jump) > 1e-3, "linear -> softmax jump " + jump);
      }
    }
  }

  private static double num(Map<String, Object> m, String key) {
    return ((Number) m.get(key)).doubleValue();
  }

  @Test
  void reportsTheQkScaleOfEveryLayer() throws Exception {
    // The maths on matrices whose answer is known.
    assertArrayEquals(
        new double[] {17, 23, 39, 53},
        Surgery.timesTransposed(new float[] {1, 2, 3, 4}, new float[] {5, 6, 7, 8}, 2, 2));
    assertEquals(5, Surgery.spectralNorm(new double[] {3, 0, 0, 0, -5, 0, 0, 0, 1}, 3, 3), 1e-9);
    // u·vᵀ with |u| = 3, |v| = 5.
    double[] outer = new double[9];
    double[] u = {1, 2, 2};
    double[] v = {0, 3, 4};
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 3; j++) {
        outer[i * 3 + j] = u[i] * v[j];
      }
    }
    assertEquals(15, Surgery.spectralNorm(outer, 3, 3), 1e-9);

    // The report names each layer's ‖Wq·Wkᵀ‖₂ of the converted model, in layer order.
    BertConfig cfg = BertConfig.fromJson(TINY);
    Surgery.Report r =
        Surgery.convert(
            cfg, writeRelaxedCheckpoint(cfg, dir.resolve("relaxed"), 7), dir.resolve("full"));
    assertEquals(2, r.qkNorms().size());
    for (int l = 0; l < 2; l++) {
      String self = "bert/encoder/layer_" + l + "/attention/self/";
      Map<String, float[]> w =
          read(
              cfg,
              Variant.FULL,
              r.checkpoint(),
              List.of(self + "query/kernel", self + "key/kernel"));
      double expected =
          Surgery.spectralNorm(
              Surgery.timesTransposed(
                  w.get(self + "query/kernel"), w.get(self + "key/kernel"), 32, 32),
              32,
              32);
      assertTrue(expected > 0);
      assertEquals(expected, r.qkNorms().get(l), 1e-9 * expected);
    }
    assertEquals(r.qkNorms(), Surgery.readReport(dir.resolve("full")).qkNorms());
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
    return writeRelaxedCheckpoint(cfg, out, step, 0.1);
  }

  /**
   * A relaxed checkpoint at {@code step} with Gaussian weights of standard deviation {@code scale}
   * (LayerNorm gammas 1 plus such noise) and random second moments.
   */
  private static Path writeRelaxedCheckpoint(BertConfig cfg, Path out, long step, double scale) {
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
            double noise = random.nextGaussian() * scale;
            x[i] =
                (float)
                    (name.endsWith("adam_v")
                        ? random.nextDouble()
                        : name.endsWith("gamma") ? 1 + noise : noise);
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
