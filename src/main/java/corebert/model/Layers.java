package corebert.model;

import static corebert.model.VariableNames.*;

import java.util.Optional;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.op.math.Mean;
import org.tensorflow.op.random.TruncatedNormal;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TFloating;

/**
 * The building blocks shared by the encoder and the heads: named variables with their initialisers,
 * dense layers, LayerNorm and activations. Every variable's initializer runs in the init scope, so
 * {@code Session.initialize()} sets it and a restore skips it.
 */
final class Layers {
  /** LayerNorm epsilon of google-research/bert's modeling.py. */
  private static final float LAYER_NORM_EPS = 1e-12f;

  private final Ops tf;
  private final long seed;
  private final VariableStore store;

  Layers(Ops tf, long seed, VariableStore store) {
    this.tf = tf;
    this.seed = seed;
    this.store = store;
  }

  /**
   * A truncated-normal variable (BERT's {@code create_initializer}). Its op-level seed comes from
   * its full name, so a variable starts equal in the relaxed and the full model whatever the build
   * order.
   */
  Variable<TFloat32> truncatedNormal(Ops scope, String name, Shape shape, double stddev) {
    return store.get(name, shape, () -> newTruncatedNormal(scope, name, shape, stddev));
  }

  private Variable<TFloat32> newTruncatedNormal(
      Ops scope, String name, Shape shape, double stddev) {
    Variable<TFloat32> var = scope.withInitScope().withName(name).variable(shape, TFloat32.class);
    Ops init = tf.withInitScope();
    Operand<TFloat32> value =
        init.math.mul(
            init.random.truncatedNormal(
                init.constant(shape),
                TFloat32.class,
                TruncatedNormal.seed(seed),
                TruncatedNormal.seed2((long) var.op().name().hashCode())),
            init.constant((float) stddev));
    init.assign(var, value);
    return var;
  }

  /** Whether the encoder fuses its query, key and value matmuls. */
  boolean fusedQkv() {
    return store.fusedQkv();
  }

  /** The share of softmax in a blended attention ({@link VariableStore#withSoftmaxShare}). */
  Optional<Operand<TFloat32>> softmaxShare() {
    return store.softmaxShare();
  }

  /** A [size] variable starting at {@code value} (0 for biases and beta, 1 for gamma). */
  Variable<TFloat32> constant(Ops scope, String name, int size, float value) {
    return store.get(name, Shape.of(size), () -> newConstant(scope, name, size, value));
  }

  private Variable<TFloat32> newConstant(Ops scope, String name, int size, float value) {
    Variable<TFloat32> var =
        scope.withInitScope().withName(name).variable(Shape.of(size), TFloat32.class);
    Ops init = tf.withInitScope();
    init.assign(var, init.fill(init.constant(new int[] {size}), init.constant(value)));
    return var;
  }

  /**
   * x [rows, in] · kernel [in, out] + bias [out], under {@code scope/kernel} and {@code
   * scope/bias}.
   */
  Operand<TFloat32> dense(Ops scope, Operand<TFloat32> x, int in, int out, double stddev) {
    Operand<TFloat32> kernel =
        tf.identity(truncatedNormal(scope, KERNEL, Shape.of(in, out), stddev));
    Operand<TFloat32> y = matMul(x, kernel, false); // [rows, out]
    return tf.math.add(y, tf.identity(constant(scope, BIAS, out, 0f)));
  }

  /**
   * A dense layer x [rows, in] -> [rows, out] whose kernel is the full W [in, out] when {@code
   * rank} is 0, else the product U·V of U [in, R] and V [R, out] under {@code kernel_u} and {@code
   * kernel_v} (CoRe's relaxed model), which surgery multiplies out into W.
   */
  Operand<TFloat32> dense(
      Ops scope, Operand<TFloat32> x, int in, int out, double stddev, int rank) {
    if (rank == 0) {
      return dense(scope, x, in, out, stddev);
    }
    Factors uv = factors(scope, in, out, stddev, rank);
    Operand<TFloat32> low = matMul(x, uv.u(), false); // [rows, R]
    Operand<TFloat32> y = matMul(low, uv.v(), false); // [rows, out]
    return tf.math.add(y, tf.identity(constant(scope, BIAS, out, 0f)));
  }

  /** The two factors of a rank-R kernel, read for use in maths. */
  record Factors(Operand<TFloat32> u, Operand<TFloat32> v) {}

  /**
   * U [in, R] and V [R, out], both starting at stddev sqrt(σ/√R) so that U·V has the full kernel's
   * initial scale σ: Var((UV)_ij) = R·Var(U)·Var(V) = σ².
   */
  Factors factors(Ops scope, int in, int out, double stddev, int rank) {
    double factorStd = Math.sqrt(stddev / Math.sqrt(rank));
    Variable<TFloat32> u = truncatedNormal(scope, KERNEL_U, Shape.of(in, rank), factorStd);
    Variable<TFloat32> v = truncatedNormal(scope, KERNEL_V, Shape.of(rank, out), factorStd);
    return new Factors(tf.identity(u), tf.identity(v));
  }

  /**
   * a [m, k] · b [k, n] (b [n, k] when {@code transposeB}) in the compute precision; float32 out.
   */
  Operand<TFloat32> matMul(Operand<TFloat32> a, Operand<TFloat32> b, boolean transposeB) {
    return matMul(store.precision().type, a, b, transposeB);
  }

  private <T extends TFloating> Operand<TFloat32> matMul(
      Class<T> type, Operand<TFloat32> a, Operand<TFloat32> b, boolean transposeB) {
    if (type == TFloat32.class) {
      return tf.linalg.matMul(a, b, MatMul.transposeB(transposeB));
    }
    return tf.dtypes.cast(
        tf.linalg.matMul(
            tf.dtypes.cast(a, type), tf.dtypes.cast(b, type), MatMul.transposeB(transposeB)),
        TFloat32.class);
  }

  /**
   * Batched a · b over the leading axes, each side adjoint when asked, in the compute precision.
   */
  Operand<TFloat32> batchMatMul(
      Operand<TFloat32> a, Operand<TFloat32> b, boolean adjA, boolean adjB) {
    return batchMatMul(store.precision().type, a, b, adjA, adjB);
  }

  private <T extends TFloating> Operand<TFloat32> batchMatMul(
      Class<T> type, Operand<TFloat32> a, Operand<TFloat32> b, boolean adjA, boolean adjB) {
    if (type == TFloat32.class) {
      return tf.train.batchMatMul(
          a, b, TFloat32.class, BatchMatMul.adjX(adjA), BatchMatMul.adjY(adjB));
    }
    return tf.dtypes.cast(
        tf.train.batchMatMul(
            tf.dtypes.cast(a, type),
            tf.dtypes.cast(b, type),
            type,
            BatchMatMul.adjX(adjA),
            BatchMatMul.adjY(adjB)),
        TFloat32.class);
  }

  /**
   * LayerNorm over the last axis with BERT's epsilon (Ba et al. 2016), under {@code LayerNorm/}.
   */
  Operand<TFloat32> layerNorm(Ops parent, Operand<TFloat32> x, int width) {
    Ops scope = parent.withSubScope(LAYER_NORM);
    Operand<TFloat32> gamma = tf.identity(constant(scope, GAMMA, width, 1f));
    Operand<TFloat32> beta = tf.identity(constant(scope, BETA, width, 0f));
    Operand<TInt32> lastAxis = tf.constant(new int[] {-1});
    Operand<TFloat32> mean = tf.math.mean(x, lastAxis, Mean.keepDims(true)); // [rows, 1]
    Operand<TFloat32> centered = tf.math.sub(x, mean);
    Operand<TFloat32> variance =
        tf.math.mean(tf.math.square(centered), lastAxis, Mean.keepDims(true)); // [rows, 1]
    Operand<TFloat32> normed =
        tf.math.mul(centered, tf.math.rsqrt(tf.math.add(variance, tf.constant(LAYER_NORM_EPS))));
    return tf.math.add(tf.math.mul(normed, gamma), beta);
  }

  /** The config's {@code hidden_act}. */
  static Operand<TFloat32> activation(Ops tf, String name, Operand<TFloat32> x) {
    return switch (name) {
      // Exact GELU, 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel 2016), as BERT's modeling.py.
      case "gelu" ->
          tf.math.mul(
              tf.math.mul(tf.constant(0.5f), x),
              tf.math.add(
                  tf.constant(1f),
                  tf.math.erf(tf.math.mul(x, tf.constant((float) (1 / Math.sqrt(2)))))));
      case "relu" -> tf.nn.relu(x);
      case "tanh" -> tf.math.tanh(x);
      default -> throw new IllegalStateException("unvalidated activation " + name);
    };
  }
}
