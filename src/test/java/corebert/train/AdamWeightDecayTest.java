package corebert.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Session.Runner;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.PlaceholderWithDefault;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * One optimizer step on loss = Σ_rj (γ_j · (x·K + b)_rj)², checked against BERT's
 * AdamWeightDecayOptimizer worked out by hand in double precision.
 */
class AdamWeightDecayTest {
  static final double[][] X = {{1, 2}, {3, -1}};
  static final double[][] K0 = {{0.5, -0.25}, {1.0, 0.75}};
  static final double[] B0 = {0.5, -1.0};
  static final double[] G0 = {1.5, 0.8};
  static final double LR = 0.1;

  /** Larger than BERT's 0.01 so that a wrongly decayed bias or gamma is far outside tolerance. */
  static final AdamWeightDecay.Settings ADAMW =
      new AdamWeightDecay.Settings(AdamWeightDecay.Rule.ADAMW, 0.1, 0.9, 0.999, 1e-6, 1.0, false);

  static final String KERNEL = "bert/dense/kernel";
  static final String BIAS = "bert/dense/bias";
  static final String GAMMA = "bert/LayerNorm/gamma";

  /** The test graph: three BERT-named variables, a global step, and the optimizer. */
  record Built(
      Variable<TFloat32> kernel,
      Variable<TFloat32> bias,
      Variable<TFloat32> gamma,
      Variable<TInt64> globalStep,
      PlaceholderWithDefault<TFloat32> lossScale,
      AdamWeightDecay.Update update) {}

  static Built build(Graph graph, AdamWeightDecay.Settings settings) {
    Ops tf = Ops.create(graph);
    // One "bert" scope: a second withSubScope("bert") would be uniquified to "bert_1".
    Ops bert = tf.withSubScope("bert");
    Ops dense = bert.withSubScope("dense");
    Ops layerNorm = bert.withSubScope("LayerNorm");
    Variable<TFloat32> kernel =
        variable(tf, dense, "kernel", Shape.of(2, 2), tf.withInitScope().constant(toFloat(K0)));
    Variable<TFloat32> bias =
        variable(tf, dense, "bias", Shape.of(2), tf.withInitScope().constant(toFloat(B0)));
    Variable<TFloat32> gamma =
        variable(tf, layerNorm, "gamma", Shape.of(2), tf.withInitScope().constant(toFloat(G0)));
    Variable<TInt64> step = PretrainingModel.globalStep(tf);

    Operand<TFloat32> y =
        tf.math.add(
            tf.linalg.matMul(tf.constant(toFloat(X)), tf.identity(kernel)), tf.identity(bias));
    Operand<TFloat32> z = tf.math.mul(y, tf.identity(gamma));
    PlaceholderWithDefault<TFloat32> scale =
        tf.withName("loss_scale").placeholderWithDefault(tf.constant(1f), Shape.scalar());
    Operand<TFloat32> loss =
        tf.math.mul(tf.sum(tf.math.square(z), tf.constant(new int[] {0, 1})), scale);
    AdamWeightDecay.Update update =
        AdamWeightDecay.build(
            tf, graph, loss, List.of(kernel, bias, gamma), tf.constant((float) LR), step, settings);
    return new Built(kernel, bias, gamma, step, scale, update);
  }

  private static Variable<TFloat32> variable(
      Ops tf, Ops scope, String name, Shape shape, Operand<TFloat32> initial) {
    Variable<TFloat32> v = scope.withInitScope().withName(name).variable(shape, TFloat32.class);
    tf.withInitScope().assign(v, initial);
    return v;
  }

  /** Raw gradients of the loss: index 0..3 kernel (row-major), 4..5 bias, 6..7 gamma. */
  static double[] handGradients() {
    double[][] y = new double[2][2];
    double[][] z = new double[2][2];
    for (int r = 0; r < 2; r++) {
      for (int j = 0; j < 2; j++) {
        y[r][j] = X[r][0] * K0[0][j] + X[r][1] * K0[1][j] + B0[j];
        z[r][j] = G0[j] * y[r][j];
      }
    }
    double[] g = new double[8];
    for (int r = 0; r < 2; r++) {
      for (int j = 0; j < 2; j++) {
        double dy = 2 * z[r][j] * G0[j];
        for (int i = 0; i < 2; i++) {
          g[i * 2 + j] += X[r][i] * dy;
        }
        g[4 + j] += dy;
        g[6 + j] += 2 * z[r][j] * y[r][j];
      }
    }
    return g;
  }

  static double[] initialValues() {
    return new double[] {K0[0][0], K0[0][1], K0[1][0], K0[1][1], B0[0], B0[1], G0[0], G0[1]};
  }

  /** Clipped gradients, as the step sees them. */
  static double[] clippedGradients() {
    double[] g = handGradients();
    double norm = 0;
    for (double x : g) {
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    assertTrue(norm > 1, "the test wants clipping to matter, norm " + norm);
    double[] c = new double[g.length];
    for (int i = 0; i < g.length; i++) {
      c[i] = g[i] / norm;
    }
    return c;
  }

  /** BERT's update direction m/(√v+ε) (+ wd·w on the kernel only), no bias correction. */
  static double[] handUpdate(AdamWeightDecay.Settings s) {
    double[] g = clippedGradients();
    double[] w = initialValues();
    double[] u = new double[8];
    for (int i = 0; i < 8; i++) {
      double m = (1 - s.beta1()) * g[i];
      double v = (1 - s.beta2()) * g[i] * g[i];
      u[i] = m / (Math.sqrt(v) + s.epsilon());
      if (i < 4) {
        u[i] += s.weightDecay() * w[i];
      }
    }
    return u;
  }

  @Test
  void oneAdamWStepMatchesHandComputation() {
    double[] g = clippedGradients();
    double[] w0 = initialValues();
    double[] u = handUpdate(ADAMW);
    try (Graph graph = new Graph()) {
      Built b = build(graph, ADAMW);
      assertEquals(
          List.of(
              KERNEL + "/adam_m",
              KERNEL + "/adam_v",
              BIAS + "/adam_m",
              BIAS + "/adam_v",
              GAMMA + "/adam_m",
              GAMMA + "/adam_v"),
          b.update().slotNames());
      for (String slot : b.update().slotNames()) {
        GraphOperation op = graph.operationOrThrow(slot);
        assertEquals("VariableV2", op.type(), slot);
      }
      try (Session session = new Session(graph)) {
        session.initialize();
        assertEquals(0L, globalStep(session, b));
        try (Result r =
            session.runner().addTarget(b.update().trainOp()).fetch(b.update().applied()).run()) {
          assertTrue(((TBool) r.get(0)).getBoolean());
        }
        assertEquals(1L, globalStep(session, b));
        double[] w1 = values(session, b);
        double[] m = slots(session, "adam_m");
        double[] v = slots(session, "adam_v");
        for (int i = 0; i < 8; i++) {
          assertEquals(w0[i] - LR * u[i], w1[i], 1e-5, "variable element " + i);
          assertEquals((1 - ADAMW.beta1()) * g[i], m[i], 1e-6, "adam_m element " + i);
          assertEquals((1 - ADAMW.beta2()) * g[i] * g[i], v[i], 1e-7, "adam_v element " + i);
        }
        // Bias and LayerNorm/gamma are not decayed: their step is exactly lr·m/(√v+ε) ...
        for (int i = 4; i < 8; i++) {
          double adamOnly =
              (1 - ADAMW.beta1())
                  * g[i]
                  / (Math.sqrt((1 - ADAMW.beta2()) * g[i] * g[i]) + ADAMW.epsilon());
          assertEquals(w0[i] - LR * adamOnly, w1[i], 1e-5, "undecayed element " + i);
          // ... and a decayed step would be off by lr·wd·w, far outside the tolerance.
          assertTrue(Math.abs(LR * ADAMW.weightDecay() * w0[i]) > 1e-3);
        }
      }
    }
  }

  @Test
  void nonFiniteLossChangesNothing() {
    try (Graph graph = new Graph()) {
      Built b = build(graph, ADAMW);
      try (Session session = new Session(graph)) {
        session.initialize();
        double[] before = values(session, b);
        try (TFloat32 nan = TFloat32.scalarOf(Float.NaN);
            Result r =
                session
                    .runner()
                    .feed(b.lossScale(), nan)
                    .addTarget(b.update().trainOp())
                    .fetch(b.update().applied())
                    .run()) {
          assertFalse(((TBool) r.get(0)).getBoolean());
        }
        assertArrayEquals(before, values(session, b), 0.0);
        assertArrayEquals(new double[8], slots(session, "adam_m"), 0.0);
        assertArrayEquals(new double[8], slots(session, "adam_v"), 0.0);
        assertEquals(0L, globalStep(session, b));
        // The same graph still trains on a finite loss afterwards.
        session.run(b.update().trainOp());
        assertEquals(1L, globalStep(session, b));
        assertNotEquals(before[0], values(session, b)[0]);
      }
    }
  }

  @Test
  void oneLambStepScalesTheUpdateByTheTrustRatio() {
    AdamWeightDecay.Settings lamb =
        new AdamWeightDecay.Settings(AdamWeightDecay.Rule.LAMB, 0.1, 0.9, 0.999, 1e-6, 1.0, false);
    double[] w0 = initialValues();
    double[] u = handUpdate(lamb);
    // Per variable: kernel 0..3, bias 4..5, gamma 6..7.
    int[][] ranges = {{0, 4}, {4, 6}, {6, 8}};
    try (Graph graph = new Graph()) {
      Built b = build(graph, lamb);
      try (Session session = new Session(graph)) {
        session.initialize();
        session.run(b.update().trainOp());
        double[] w1 = values(session, b);
        for (int[] range : ranges) {
          double wNorm = 0;
          double uNorm = 0;
          for (int i = range[0]; i < range[1]; i++) {
            wNorm += w0[i] * w0[i];
            uNorm += u[i] * u[i];
          }
          double ratio = Math.sqrt(wNorm) / Math.sqrt(uNorm);
          assertNotEquals(1.0, ratio, 0.05, "a ratio near 1 would not test anything");
          for (int i = range[0]; i < range[1]; i++) {
            assertEquals(LR * ratio * u[i], w0[i] - w1[i], 1e-5, "LAMB step element " + i);
          }
        }
        assertEquals(1L, globalStep(session, b));
      }
    }
  }

  private static long globalStep(Session session, Built b) {
    try (Result r = session.runner().fetch(b.globalStep()).run()) {
      return ((TInt64) r.get(0)).getLong();
    }
  }

  /**
   * Dynamic loss scaling: a good step applies the same update as unscaled training (the scale is
   * divided out of the gradients) and counts towards growth; a non-finite step changes no weight
   * and halves the scale.
   */
  @Test
  void dynamicLossScaleIsDividedOutAndHalvesOnOverflow() {
    AdamWeightDecay.Settings scaled =
        new AdamWeightDecay.Settings(AdamWeightDecay.Rule.ADAMW, 0.1, 0.9, 0.999, 1e-6, 1.0, true);
    double[] plain;
    try (Graph graph = new Graph()) {
      Built b = build(graph, ADAMW);
      try (Session session = new Session(graph)) {
        session.initialize();
        session.run(b.update().trainOp());
        plain = values(session, b);
      }
    }
    try (Graph graph = new Graph()) {
      Built b = build(graph, scaled);
      try (Session session = new Session(graph)) {
        session.initialize();
        session.run(b.update().trainOp());
        assertArrayEquals(plain, values(session, b), 1e-6);
        assertEquals(AdamWeightDecay.LOSS_SCALE_INITIAL, lossScale(session), 0f);
        double[] before = values(session, b);
        try (TFloat32 inf = TFloat32.scalarOf(Float.POSITIVE_INFINITY)) {
          session.runner().feed(b.lossScale(), inf).addTarget(b.update().trainOp()).run();
        }
        assertArrayEquals(before, values(session, b), 0.0);
        assertEquals(AdamWeightDecay.LOSS_SCALE_INITIAL / 2, lossScale(session), 0f);
      }
    }
  }

  private static float lossScale(Session session) {
    try (Result r = session.runner().fetch("dynamic_loss_scale/scale").run()) {
      return ((TFloat32) r.get(0)).getFloat();
    }
  }

  private static double[] values(Session session, Built b) {
    try (Result r = session.runner().fetch(b.kernel()).fetch(b.bias()).fetch(b.gamma()).run()) {
      return flatten(r);
    }
  }

  private static double[] slots(Session session, String slot) {
    Runner runner = session.runner();
    for (String var : List.of(KERNEL, BIAS, GAMMA)) {
      runner.fetch(var + "/" + slot);
    }
    try (Result r = runner.run()) {
      return flatten(r);
    }
  }

  private static double[] flatten(Result r) {
    List<Double> out = new ArrayList<>();
    for (int i = 0; i < r.size(); i++) {
      TFloat32 t = (TFloat32) r.get(i);
      t.scalars().forEach(s -> out.add((double) s.getFloat()));
    }
    return out.stream().mapToDouble(Double::doubleValue).toArray();
  }

  private static float[][] toFloat(double[][] a) {
    float[][] f = new float[a.length][];
    for (int i = 0; i < a.length; i++) {
      f[i] = toFloat(a[i]);
    }
    return f;
  }

  private static float[] toFloat(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }
}
