package corebert.train;

import corebert.model.Endpoints;
import corebert.model.VariableNames;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Adam with decoupled weight decay, as google-research/bert's {@code AdamWeightDecayOptimizer}
 * (Loshchilov & Hutter 2019), and LAMB (You et al. 2020), which scales that same update per
 * variable by the trust ratio ‖w‖/‖update‖. Written as graph ops because TF Java's optimizers take
 * a constant learning rate, have no decoupled decay, and differentiate every variable in the graph.
 *
 * <p>Decay is added to the update, not to the loss: an L2 term in the loss would pass through
 * Adam's m/√v normalisation and stop being a plain decay. LayerNorm and bias are not decayed
 * ({@link VariableNames#excludedFromWeightDecay}). Gradients are clipped to a global norm of 1.0. A
 * step whose loss or gradient norm is not finite changes nothing: every assignment selects the old
 * value and the global step does not advance.
 */
public final class AdamWeightDecay {
  /** The update rule. */
  public enum Rule {
    ADAMW,
    LAMB
  }

  /**
   * Hyperparameters; the defaults are BERT's.
   *
   * @param weightDecay decoupled decay rate (BERT: 0.01)
   * @param beta1 first-moment decay (0.9)
   * @param beta2 second-moment decay (0.999)
   * @param epsilon added to √v (BERT: 1e-6)
   * @param clipNorm global gradient-norm clip (1.0)
   * @param dynamicLossScale multiply the loss by a scale that halves on every non-finite step and
   *     doubles after {@link #LOSS_SCALE_GROWTH_INTERVAL} good ones, and divide it out of the
   *     gradients, so that fp16 gradients neither underflow nor overflow (Micikevicius et al. 2018)
   */
  public record Settings(
      Rule rule,
      double weightDecay,
      double beta1,
      double beta2,
      double epsilon,
      double clipNorm,
      boolean dynamicLossScale) {
    public static Settings bert(Rule rule, boolean dynamicLossScale) {
      return new Settings(rule, 0.01, 0.9, 0.999, 1e-6, 1.0, dynamicLossScale);
    }
  }

  /** Where dynamic loss scaling starts, and how many good steps double it (NVIDIA's defaults). */
  public static final float LOSS_SCALE_INITIAL = 32768f;

  public static final long LOSS_SCALE_GROWTH_INTERVAL = 2000;
  static final String LOSS_SCALE_SCOPE = "dynamic_loss_scale";

  /** The loss-scale state, in every checkpoint whether scaling is on or not (then it stays 1). */
  record LossScale(Variable<TFloat32> scale, Variable<TInt64> goodSteps) {
    static LossScale build(Ops tf, boolean dynamic) {
      Ops scope = tf.withSubScope(LOSS_SCALE_SCOPE);
      Ops init = tf.withInitScope();
      Variable<TFloat32> scale =
          scope.withInitScope().withName("scale").variable(Shape.scalar(), TFloat32.class);
      init.assign(scale, init.constant(dynamic ? LOSS_SCALE_INITIAL : 1f));
      Variable<TInt64> good =
          scope.withInitScope().withName("good_steps").variable(Shape.scalar(), TInt64.class);
      init.assign(good, init.constant(0L));
      return new LossScale(scale, good);
    }
  }

  /** The ops a trainer runs and fetches. */
  public record Update(
      Op trainOp, Operand<TFloat32> gradNorm, Operand<TBool> applied, List<String> slotNames) {}

  private AdamWeightDecay() {}

  /**
   * Builds the gradients of {@code loss} with respect to {@code vars} (and nothing else), then the
   * update of every variable and its two slots, grouped under {@link Endpoints#TRAIN_OP}, which
   * also advances {@code globalStep}.
   */
  public static Update build(
      Ops tf,
      Graph graph,
      Operand<TFloat32> loss,
      List<Variable<TFloat32>> vars,
      Operand<TFloat32> learningRate,
      Variable<TInt64> globalStep,
      Settings s) {
    LossScale lossScale = LossScale.build(tf, s.dynamicLossScale());
    Output<?>[] rawGrads =
        graph.addGradients(scaled(tf, loss, lossScale, s).asOutput(), outputs(vars));
    return apply(tf, loss, vars, rawGrads, learningRate, globalStep, lossScale, s);
  }

  /** {@code loss} times the loss scale when scaling is on: what gets differentiated. */
  static Operand<TFloat32> scaled(Ops tf, Operand<TFloat32> loss, LossScale ls, Settings s) {
    return s.dynamicLossScale() ? tf.math.mul(loss, tf.identity(ls.scale())) : loss;
  }

  static Output<?>[] outputs(List<Variable<TFloat32>> vars) {
    return vars.stream().map(Variable::asOutput).toArray(Output<?>[]::new);
  }

  /**
   * The update from gradients computed elsewhere (data-parallel replicas sum theirs): {@code
   * rawGrads[i]} is the gradient of the scaled {@code loss} with respect to {@code vars[i]}.
   */
  static Update apply(
      Ops tf,
      Operand<TFloat32> loss,
      List<Variable<TFloat32>> vars,
      Output<?>[] rawGrads,
      Operand<TFloat32> learningRate,
      Variable<TInt64> globalStep,
      LossScale lossScale,
      Settings s) {
    Graph graph = (Graph) tf.scope().env();
    Ops opt = tf.withSubScope("optimizer");
    Operand<TFloat32> scale = opt.identity(lossScale.scale());

    // Global norm over all gradients, then clip: g * clip / max(norm, clip).
    List<Operand<TFloat32>> squares = new ArrayList<>();
    List<Operand<TFloat32>> grads = new ArrayList<>();
    for (Output<?> g : rawGrads) {
      @SuppressWarnings("unchecked")
      Operand<TFloat32> grad = (Operand<TFloat32>) g;
      if (s.dynamicLossScale()) {
        grad = opt.math.div(grad, scale);
      }
      grads.add(grad);
      squares.add(opt.sum(opt.math.square(grad), allAxes(opt, grad)));
    }
    Operand<TFloat32> gradNorm =
        opt.withName(Endpoints.GRAD_NORM).math.sqrt(opt.math.addN(squares));
    Operand<TFloat32> clip = opt.constant((float) s.clipNorm());
    Operand<TFloat32> clipScale = opt.math.div(clip, opt.math.maximum(gradNorm, clip));
    Operand<TBool> ok =
        opt.withName(Endpoints.UPDATE_APPLIED)
            .math
            .logicalAnd(allFinite(opt, loss), allFinite(opt, gradNorm));

    List<Op> assignments = new ArrayList<>();
    List<String> slotNames = new ArrayList<>();
    for (int i = 0; i < vars.size(); i++) {
      Operand<TFloat32> g = opt.math.mul(grads.get(i), clipScale);
      assignments.addAll(
          updateVariable(tf, opt, graph, vars.get(i), g, learningRate, ok, s, slotNames));
    }
    if (s.dynamicLossScale()) {
      assignments.addAll(updateLossScale(opt, lossScale, scale, ok));
    }
    // The step advances only after every variable is written, and only for applied updates.
    Ops after = opt.withControlDependencies(assignments);
    Operand<TInt64> increment = after.dtypes.cast(ok, TInt64.class);
    Op trainOp =
        tf.withName(Endpoints.TRAIN_OP)
            .withControlDependencies(List.of(after.assignAdd(globalStep, increment)))
            .noOp();
    return new Update(trainOp, gradNorm, ok, slotNames);
  }

  /**
   * The AdamW (or LAMB) update of one variable and its two slots, applied only when {@code ok};
   * appends the slots' names to {@code slotNames}.
   */
  private static List<Op> updateVariable(
      Ops tf,
      Ops opt,
      Graph graph,
      Variable<TFloat32> var,
      Operand<TFloat32> g,
      Operand<TFloat32> learningRate,
      Operand<TBool> ok,
      Settings s,
      List<String> slotNames) {
    String name = var.op().name();
    Output<TFloat32> m = slot(tf, graph, name, VariableNames.ADAM_M, var.shape());
    Output<TFloat32> v = slot(tf, graph, name, VariableNames.ADAM_V, var.shape());
    slotNames.add(m.op().name());
    slotNames.add(v.op().name());
    Operand<TFloat32> b1 = opt.constant((float) s.beta1());
    Operand<TFloat32> b2 = opt.constant((float) s.beta2());
    Operand<TFloat32> one = opt.constant(1f);
    Operand<TFloat32> w = opt.identity(var);
    // m' = β1·m + (1-β1)·g,  v' = β2·v + (1-β2)·g²  (no bias correction, as BERT)
    Operand<TFloat32> m1 =
        opt.math.add(opt.math.mul(b1, opt.identity(m)), opt.math.mul(opt.math.sub(one, b1), g));
    Operand<TFloat32> v1 =
        opt.math.add(
            opt.math.mul(b2, opt.identity(v)),
            opt.math.mul(opt.math.sub(one, b2), opt.math.square(g)));
    Operand<TFloat32> update =
        opt.math.div(m1, opt.math.add(opt.math.sqrt(v1), opt.constant((float) s.epsilon())));
    if (!VariableNames.excludedFromWeightDecay(name)) {
      update = opt.math.add(update, opt.math.mul(opt.constant((float) s.weightDecay()), w));
    }
    Operand<TFloat32> stepSize = learningRate;
    if (s.rule() == Rule.LAMB) {
      stepSize = opt.math.mul(learningRate, trustRatio(opt, w, update));
    }
    Operand<TFloat32> w1 = opt.math.sub(w, opt.math.mul(stepSize, update));
    return List.of(
        opt.assign(var, opt.select(ok, w1, w)),
        opt.assign(m, opt.select(ok, m1, opt.identity(m))),
        opt.assign(v, opt.select(ok, v1, opt.identity(v))));
  }

  /** Halve the scale on a non-finite step (not below 1); double it after enough good ones. */
  private static List<Op> updateLossScale(
      Ops tf, LossScale ls, Operand<TFloat32> scale, Operand<TBool> ok) {
    Operand<TInt64> good = tf.identity(ls.goodSteps());
    Operand<TInt64> goodNext = tf.select(ok, tf.math.add(good, tf.constant(1L)), tf.constant(0L));
    Operand<TBool> grow = tf.math.greaterEqual(goodNext, tf.constant(LOSS_SCALE_GROWTH_INTERVAL));
    Operand<TFloat32> scaleNext =
        tf.select(
            ok,
            tf.select(grow, tf.math.mul(scale, tf.constant(2f)), scale),
            tf.math.maximum(tf.math.div(scale, tf.constant(2f)), tf.constant(1f)));
    return List.of(
        tf.assign(ls.scale(), scaleNext),
        tf.assign(ls.goodSteps(), tf.select(grow, tf.constant(0L), goodNext)));
  }

  /** LAMB's ‖w‖/‖update‖, or 1 when either norm is zero (fresh biases, zero updates). */
  private static Operand<TFloat32> trustRatio(
      Ops tf, Operand<TFloat32> w, Operand<TFloat32> update) {
    Operand<TFloat32> wNorm = tf.math.sqrt(tf.sum(tf.math.square(w), allAxes(tf, w)));
    Operand<TFloat32> uNorm = tf.math.sqrt(tf.sum(tf.math.square(update), allAxes(tf, update)));
    Operand<TFloat32> zero = tf.constant(0f);
    Operand<TBool> both =
        tf.math.logicalAnd(tf.math.greater(wNorm, zero), tf.math.greater(uNorm, zero));
    return tf.select(
        both, tf.math.div(wNorm, tf.math.maximum(uNorm, tf.constant(1e-12f))), tf.constant(1f));
  }

  /**
   * A zero-initialised optimizer slot named {@code <variable>/<slot>}, as BERT's checkpoints have
   * it. The name has slashes, which a Scope refuses, so the op is built with its full name.
   */
  static Output<TFloat32> slot(Ops tf, Graph graph, String variable, String slot, Shape shape) {
    Ops init = tf.withInitScope();
    Output<TFloat32> var =
        graph
            .opBuilder("VariableV2", VariableNames.slot(variable, slot), init.scope())
            .setAttr("shape", shape)
            .setAttr("dtype", DataType.DT_FLOAT)
            .build()
            .output(0);
    init.assign(var, init.zeros(init.constant(shape), TFloat32.class));
    return var;
  }

  private static Operand<TBool> allFinite(Ops tf, Operand<TFloat32> x) {
    return tf.all(tf.math.isFinite(x), allAxes(tf, x));
  }

  private static Operand<org.tensorflow.types.TInt32> allAxes(Ops tf, Operand<?> x) {
    return tf.range(tf.constant(0), tf.rank(x), tf.constant(1));
  }
}
