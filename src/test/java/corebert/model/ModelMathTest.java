package corebert.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The model's maths against values computed on the host in double precision, on tiny tensors: both
 * attention kernels with a padded key, the relaxed U·V dense layer, GELU and LayerNorm. A changed
 * sign, scale or mask in the graph code moves these outputs far past the tolerances.
 */
class ModelMathTest {
  private static final double TOL = 1e-5;

  // One sequence, one head, T = 3, D = 2; the third token is padding, and its key and value are
  // large so that attending to it would show.
  private static final float[][] Q = {{0.5f, -1.0f}, {1.5f, 0.25f}, {-0.75f, 2.0f}};
  private static final float[][] K = {{1.0f, 0.5f}, {-0.5f, 1.25f}, {4.0f, -3.0f}};
  private static final float[][] V = {{0.3f, -0.7f}, {1.1f, 0.4f}, {9.0f, 9.0f}};
  private static final float[] MASK = {1, 1, 0};

  @Test
  void softmaxAttentionIgnoresThePaddedKey() {
    float[][] out =
        attention(
            (tf, l) ->
                BertModel.softmaxAttention(
                    tf, l, four(tf, Q), four(tf, K), four(tf, V), mask(tf), 2, p -> p));
    for (int i = 0; i < 3; i++) {
      double[] scores = new double[2];
      for (int j = 0; j < 2; j++) { // the padded key gets weight e^-10000 = 0
        scores[j] = (Q[i][0] * K[j][0] + Q[i][1] * K[j][1]) / Math.sqrt(2);
      }
      double m = Math.max(scores[0], scores[1]);
      double z = Math.exp(scores[0] - m) + Math.exp(scores[1] - m);
      for (int d = 0; d < 2; d++) {
        double expected =
            (Math.exp(scores[0] - m) * V[0][d] + Math.exp(scores[1] - m) * V[1][d]) / z;
        assertEquals(expected, out[i][d], TOL, "softmax attention at [" + i + "][" + d + "]");
      }
    }
  }

  @Test
  void linearAttentionIgnoresThePaddedKey() {
    float[][] out =
        attention(
            (tf, l) ->
                BertModel.linearAttention(tf, l, four(tf, Q), four(tf, K), four(tf, V), mask(tf)));
    for (int i = 0; i < 3; i++) {
      double[] numerator = new double[2];
      double normaliser = 0;
      for (int j = 0; j < 2; j++) { // φ(K) is zero at the padded key
        double w = phi(Q[i][0]) * phi(K[j][0]) + phi(Q[i][1]) * phi(K[j][1]);
        normaliser += w;
        numerator[0] += w * V[j][0];
        numerator[1] += w * V[j][1];
      }
      for (int d = 0; d < 2; d++) {
        assertEquals(
            numerator[d] / (normaliser + 1e-6),
            out[i][d],
            TOL,
            "linear attention at [" + i + "][" + d + "]");
      }
    }
  }

  @Test
  void relaxedDenseIsXTimesUTimesVPlusBias() {
    float[][] x = {{1.0f, -2.0f, 0.5f}, {0.25f, 0.0f, -1.5f}};
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Layers layers = new Layers(tf, 7, VariableStore.create());
      Operand<TFloat32> y = layers.dense(tf.withSubScope("d"), tf.constant(x), 3, 4, 0.5, 2);
      s.initialize();
      try (Result r =
          s.runner().fetch(y).fetch("d/kernel_u").fetch("d/kernel_v").fetch("d/bias").run()) {
        float[][] out = StdArrays.array2dCopyOf((TFloat32) r.get(0));
        float[][] u = StdArrays.array2dCopyOf((TFloat32) r.get(1));
        float[][] v = StdArrays.array2dCopyOf((TFloat32) r.get(2));
        float[] b = StdArrays.array1dCopyOf((TFloat32) r.get(3));
        assertEquals(2, u[0].length, "rank 2");
        for (int row = 0; row < 2; row++) {
          for (int col = 0; col < 4; col++) {
            double expected = b[col];
            for (int k = 0; k < 2; k++) {
              double xu = 0;
              for (int c = 0; c < 3; c++) {
                xu += x[row][c] * u[c][k];
              }
              expected += xu * v[k][col];
            }
            assertEquals(expected, out[row][col], TOL, "x·U·V + b at [" + row + "][" + col + "]");
          }
        }
      }
    }
  }

  @Test
  void geluIsTheExactErfForm() {
    float[] x = {-3f, -1.5f, -0.5f, 0f, 0.3f, 1f, 2.5f};
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      try (Result r = s.runner().fetch(Layers.activation(tf, "gelu", tf.constant(x))).run()) {
        float[] y = StdArrays.array1dCopyOf((TFloat32) r.get(0));
        for (int i = 0; i < x.length; i++) {
          assertEquals(
              0.5 * x[i] * (1 + erf(x[i] / Math.sqrt(2))), y[i], TOL, "gelu(" + x[i] + ")");
        }
      }
    }
  }

  @Test
  void layerNormNormalisesEachRow() {
    float[][] x = {{1f, 2f, 3f, 6f}, {-1f, 0.5f, 0.5f, 4f}};
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Layers layers = new Layers(tf, 0, VariableStore.create());
      Operand<TFloat32> y = layers.layerNorm(tf.withSubScope("ln"), tf.constant(x), 4);
      s.initialize(); // gamma 1, beta 0
      try (Result r = s.runner().fetch(y).run()) {
        float[][] out = StdArrays.array2dCopyOf((TFloat32) r.get(0));
        for (int row = 0; row < 2; row++) {
          double mean = 0;
          for (float v : x[row]) {
            mean += v / 4.0;
          }
          double var = 0;
          for (float v : x[row]) {
            var += (v - mean) * (v - mean) / 4.0; // biased, as BERT's moments
          }
          for (int c = 0; c < 4; c++) {
            assertEquals((x[row][c] - mean) / Math.sqrt(var + 1e-12), out[row][c], TOL);
          }
        }
      }
    }
  }

  /** Runs an attention kernel on [1, 1, 3, 2] inputs; returns its [3, 2] output. */
  private static float[][] attention(BiFunction<Ops, Layers, Operand<TFloat32>> kernel) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> out = kernel.apply(tf, new Layers(tf, 0, VariableStore.create()));
      try (Result r = s.runner().fetch(tf.reshape(out, tf.constant(new int[] {3, 2}))).run()) {
        return StdArrays.array2dCopyOf((TFloat32) r.get(0));
      }
    }
  }

  /** [T, D] -> [1, 1, T, D]. */
  private static Operand<TFloat32> four(Ops tf, float[][] m) {
    return tf.reshape(tf.constant(m), tf.constant(new int[] {1, 1, 3, 2}));
  }

  private static Operand<TFloat32> mask(Ops tf) {
    return tf.constant(new float[][] {MASK});
  }

  private static double phi(double x) {
    return x > 0 ? x + 1 : Math.exp(x); // elu(x) + 1
  }

  /** erf by its Maclaurin series, exact to double rounding for |x| <= 3. */
  private static double erf(double x) {
    double sum = 0;
    double term = x; // (-1)^n x^(2n+1) / n!
    for (int n = 0; n < 60; n++) {
      sum += term / (2 * n + 1);
      term *= -x * x / (n + 1);
    }
    return 2 / Math.sqrt(Math.PI) * sum;
  }
}
