package corebert.train;

import static corebert.model.VariableNames.*;

import corebert.model.BertConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * Phase 1's bound on the Q·K scale, the relaxed block's {@code qk_bound} B. Softmax attention's
 * logits are x·Wq·Wkᵀ·xᵀ/√d (biases aside) and ‖Wq·Wkᵀ‖₂ ≤ ‖Wq‖_F·‖Wk‖_F. Linear attention hardly
 * depends on that scale, so phase 1 lets it grow (82 against the baseline's 5.5 on bert-mini), and
 * softmax starts far too sharp after surgery. After every update, each layer's query and key
 * kernels are multiplied by s = min(1, √(B / (‖Wq‖_F·‖Wk‖_F))), which keeps the product of their
 * norms at most B. A factorised kernel W = U·V is scaled through U. Biases are left alone.
 */
final class QkBound {
  private QkBound() {}

  /** {@code update} followed by the bound: running the returned train op runs both, in order. */
  static AdamWeightDecay.Update after(
      Ops tf,
      AdamWeightDecay.Update update,
      List<Variable<TFloat32>> vars,
      BertConfig cfg,
      double bound) {
    Map<String, Variable<TFloat32>> byName = new HashMap<>();
    vars.forEach(v -> byName.put(v.op().name(), v));
    Ops t = tf.withSubScope("qk_bound").withControlDependencies(List.of(update.trainOp()));
    List<Op> assigns = new ArrayList<>();
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      String self = join(BERT, ENCODER, layer(l), ATTENTION, SELF);
      Kernel q = Kernel.of(byName, join(self, QUERY, KERNEL));
      Kernel k = Kernel.of(byName, join(self, KEY, KERNEL));
      Operand<TFloat32> norms = t.math.mul(frobenius(t, q.value(t)), frobenius(t, k.value(t)));
      Operand<TFloat32> s =
          t.math.minimum(t.constant(1f), t.math.sqrt(t.math.div(t.constant((float) bound), norms)));
      assigns.add(t.assign(q.scaled(), t.math.mul(t.identity(q.scaled()), s)));
      assigns.add(t.assign(k.scaled(), t.math.mul(t.identity(k.scaled()), s)));
    }
    Op bounded = tf.withControlDependencies(assigns).withName("qk_bound").noOp();
    return new AdamWeightDecay.Update(
        bounded, update.gradNorm(), update.applied(), update.slotNames());
  }

  private static Operand<TFloat32> frobenius(Ops t, Operand<TFloat32> w) {
    return t.math.sqrt(t.sum(t.math.square(w), t.constant(new int[] {0, 1})));
  }

  /**
   * A query or key kernel: the variable W itself, or W = U·V with U the variable that is scaled.
   */
  private record Kernel(Variable<TFloat32> scaled, Variable<TFloat32> v) {
    static Kernel of(Map<String, Variable<TFloat32>> byName, String name) {
      if (byName.containsKey(name)) {
        return new Kernel(byName.get(name), null);
      }
      Variable<TFloat32> u = byName.get(factorU(name));
      Variable<TFloat32> v = byName.get(factorV(name));
      if (u == null || v == null) {
        throw new IllegalStateException("the model has no " + name + " nor its factors");
      }
      return new Kernel(u, v);
    }

    /** W, [H, H]. */
    Operand<TFloat32> value(Ops t) {
      return v == null ? t.identity(scaled) : t.linalg.matMul(t.identity(scaled), t.identity(v));
    }
  }
}
