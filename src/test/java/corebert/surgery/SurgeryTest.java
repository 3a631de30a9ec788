package corebert.surgery;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.HandMadeRecords;
import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.BertModel.Variant;
import corebert.model.VariableStore;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
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
      Evaluator.Metrics before = Evaluator.evaluate(cfg, Variant.RELAXED, relaxed, heldOut, 6);
      Evaluator.Metrics after = Evaluator.evaluate(cfg, Variant.FULL, r.checkpoint(), heldOut, 6);
      double jump = after.mlmLoss() - before.mlmLoss();
      System.err.printf("%s relaxation: held-out loss jumps by %.2e at surgery%n", attention, jump);
      if (attention.equals("softmax")) {
        // Only kernels were factorised: the converted model computes the relaxed one's function.
        assertEquals(0, jump, 1e-5, "switch jump with a softmax relaxation");
        assertEquals(before.mlmAccuracy(), after.mlmAccuracy());
      } else {
        // Linear attention gives way to softmax: the function changes at the switch.
        assertTrue(Math.abs(jump) > 1e-3, "linear -> softmax jump " + jump);
      }
    }
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

  @Test
  void fittedTemperatureScalesEveryLayersQueryAndLowersTheMaskedLoss() throws Exception {
    Path records = HandMadeRecords.write(dir.resolve("train.tfrecord"), label -> 4);
    BertConfig cfg = BertConfig.fromJson(TINY);
    // Query and key kernels 5 times larger than the rest: the Q·K scale of a long phase 1 with
    // linear attention, so softmax after surgery is far too sharp.
    Path relaxed =
        scaleQueriesAndKeys(cfg, writeRelaxedCheckpoint(cfg, dir.resolve("relaxed"), 9, 0.3), 5);
    Surgery.Report plain = Surgery.convert(cfg, relaxed, dir.resolve("plain"));
    Surgery.Report fitted =
        Surgery.convert(
            cfg,
            relaxed,
            dir.resolve("fitted"),
            Optional.of(new Surgery.TemperatureFit(List.of(records), 6, 1)));
    assertTrue(plain.temperatures().isEmpty());
    List<Double> tau = fitted.temperatures();
    assertEquals(2, tau.size());
    assertEquals(tau, Surgery.readReport(dir.resolve("fitted")).temperatures());
    assertFalse(Files.exists(dir.resolve("fitted/.temperature-fit")), "trial checkpoints removed");
    assertTrue(tau.stream().anyMatch(t -> t != 1), "a sharp softmax gets a temperature: " + tau);

    // Same names and shapes; the query kernel and bias are τ times the relaxed ones, the rest is
    // untouched.
    for (int l = 0; l < 2; l++) {
      List<String> query = Temperature.queryVariables(l);
      String key = "bert/encoder/layer_" + l + "/attention/self/key/kernel";
      List<String> names = List.of(query.get(0), query.get(1), key);
      Map<String, float[]> before = read(cfg, Variant.RELAXED, relaxed, names);
      Map<String, float[]> after = read(cfg, Variant.FULL, fitted.checkpoint(), names);
      for (String q : query) {
        float[] expected = before.get(q).clone();
        for (int i = 0; i < expected.length; i++) {
          expected[i] *= tau.get(l).floatValue();
        }
        assertArrayEquals(expected, after.get(q), q);
      }
      assertArrayEquals(before.get(key), after.get(key), key);
    }
    // So every logit (x·Wq + bq)·Kᵀ/√D scales by τ: the encoder's own query layer says so.
    String queryKernel = Temperature.queryVariables(1).get(0);
    BertModel.Dense query = new BertModel.Dense(queryKernel, 32, 32, 0);
    float[] q1 = denseOutput(cfg, query, plain.checkpoint());
    float[] qTau = denseOutput(cfg, query, fitted.checkpoint());
    for (int i = 0; i < q1.length; i++) {
      assertEquals(tau.get(1) * q1[i], qTau[i], 1e-5 * (1 + Math.abs(q1[i])), "query " + i);
    }
    // The fit starts at τ = 1 and keeps only improvements on the records it was fitted on.
    Evaluator.HeldOut fitData =
        new Evaluator.HeldOut(List.of(records), List.of(), OptionalInt.of(4));
    double withoutTau =
        Evaluator.evaluate(cfg, Variant.FULL, plain.checkpoint(), fitData, 6).mlmLossMasked();
    double withTau =
        Evaluator.evaluate(cfg, Variant.FULL, fitted.checkpoint(), fitData, 6).mlmLossMasked();
    assertTrue(
        withTau < withoutTau, "masked loss " + withTau + " with τ, " + withoutTau + " without");
  }

  /** Multiplies every layer's query and key kernels of a relaxed checkpoint by {@code factor}. */
  private static Path scaleQueriesAndKeys(BertConfig cfg, Path relaxed, float factor) {
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.RELAXED)) {
      g.restore(relaxed.toString());
      for (int l = 0; l < cfg.numHiddenLayers(); l++) {
        for (String kind : List.of("query", "key")) {
          String name = "bert/encoder/layer_" + l + "/attention/self/" + kind + "/kernel";
          float[] w;
          try (Result r = g.read(List.of(name))) {
            w = values((TFloat32) r.get(0));
          }
          for (int i = 0; i < w.length; i++) {
            w[i] *= factor;
          }
          try (TFloat32 t = TFloat32.tensorOf(g.shape(name), DataBuffers.of(w, true, false))) {
            g.write(name, t);
          }
        }
      }
      return g.save(relaxed.getParent(), Checkpoints.stepOf(relaxed));
    }
  }

  /** The converted model's dense layer {@code d} on a fixed random input [4, in], flattened. */
  private static float[] denseOutput(BertConfig cfg, BertModel.Dense d, Path checkpoint) {
    float[][] x = new float[4][d.in()];
    Random random = new Random(3);
    for (float[] row : x) {
      for (int j = 0; j < row.length; j++) {
        row[j] = (float) random.nextGaussian();
      }
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> y =
          BertModel.denseLayers(tf, cfg, List.of(d), List.of(tf.constant(x))).get(0);
      try (Session s = new Session(g)) {
        s.restore(checkpoint.toString());
        try (TFloat32 out = (TFloat32) s.runner().fetch(y).run().get(0)) {
          return values(out);
        }
      }
    }
  }

  @Test
  void blendedAttentionStartsAtTheRelaxedModelAndEndsAsBert() throws Exception {
    BertConfig cfg = BertConfig.fromJson(TINY).withoutDropout();
    Path relaxed = writeRelaxedCheckpoint(cfg, dir.resolve("relaxed"), 5, 0.3);
    Path converted = Surgery.convert(cfg, relaxed, dir.resolve("full")).checkpoint();
    float[] relaxedOut = encode(cfg, Variant.RELAXED, relaxed, OptionalDouble.empty());
    float[] blendAt0 = encode(cfg, Variant.FULL, converted, OptionalDouble.of(0));
    float[] blendAtHalf = encode(cfg, Variant.FULL, converted, OptionalDouble.of(0.5));
    float[] blendAt1 = encode(cfg, Variant.FULL, converted, OptionalDouble.of(1));
    float[] bert = encode(cfg, Variant.FULL, converted, OptionalDouble.empty());
    double startGap = 0;
    double switchGap = 0;
    double halfGap = 0;
    for (int i = 0; i < bert.length; i++) {
      startGap = Math.max(startGap, Math.abs(blendAt0[i] - relaxedOut[i]));
      switchGap = Math.max(switchGap, Math.abs(bert[i] - relaxedOut[i]));
      halfGap = Math.max(halfGap, Math.abs(blendAtHalf[i] - bert[i]));
    }
    // m = 0: the relaxed model's function (the FFN kernels differ by U·V's rounding only).
    assertTrue(startGap < 1e-4, "blend at m = 0 differs from the relaxed model by " + startGap);
    // The test can fail: switching straight to softmax does change the outputs.
    assertTrue(switchGap > 1e-2, "softmax and linear attention agree to " + switchGap);
    assertTrue(halfGap > 1e-3, "m = 0.5 is not softmax yet: " + halfGap);
    // m = 1: BERT, bit for bit.
    assertArrayEquals(bert, blendAt1);
  }

  /**
   * The encoder's sequence output on fixed ids for {@code checkpoint}; given m, a full model blends
   * linear attention into softmax with that share.
   */
  private static float[] encode(
      BertConfig cfg, Variant variant, Path checkpoint, OptionalDouble softmaxShare) {
    int[][] ids = {{2, 11, 12, 13, 3, 14, 15, 3}, {2, 21, 22, 3, 23, 3, 0, 0}};
    int[][] mask = {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0, 0}};
    int[][] segments = {{0, 0, 0, 0, 0, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 0, 0}};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      VariableStore store = VariableStore.create();
      if (softmaxShare.isPresent()) {
        store = store.withSoftmaxShare(tf.constant((float) softmaxShare.getAsDouble()));
      }
      BertModel.Outputs out =
          BertModel.build(
              tf,
              cfg,
              variant,
              tf.constant(ids),
              tf.constant(mask),
              tf.constant(segments),
              0,
              store);
      try (Session s = new Session(g)) {
        s.restore(checkpoint.toString());
        try (TFloat32 y = (TFloat32) s.runner().fetch(out.sequenceOutput()).run().get(0)) {
          return values(y);
        }
      }
    }
  }

  /** The float variables {@code names} of a {@code variant} checkpoint, copied to the host. */
  private static Map<String, float[]> read(
      BertConfig cfg, Variant variant, Path checkpoint, List<String> names) {
    try (CheckpointGraph g = CheckpointGraph.build(cfg, variant)) {
      g.restore(checkpoint.toString());
      return g.readFloats(names);
    }
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
