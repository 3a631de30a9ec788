package corebert.train;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * BERT's learning-rate schedule (optimization.py): linear warm-up from 0 to the peak over {@code
 * warmupSteps}, then linear decay to 0 at {@code totalSteps}. Steps count from {@code startStep},
 * so phase 2 of CoRe re-warms on its own schedule.
 */
public record LrSchedule(double peak, long startStep, long warmupSteps, long totalSteps) {

  public LrSchedule {
    if (!(peak > 0)) {
      throw new IllegalArgumentException("learning rate must be > 0, got " + peak);
    }
    if (warmupSteps < 0 || totalSteps < 1) {
      throw new IllegalArgumentException(
          "need warmup >= 0 and total steps >= 1, got " + warmupSteps + ", " + totalSteps);
    }
  }

  /** The rate at a global step, on the host; the graph version below must agree with it. */
  public double at(long globalStep) {
    long t = globalStep - startStep;
    // 1. warm-up: a linear ramp, so Adam's early, noisy moments take small steps
    if (t < warmupSteps) {
      return peak * (t + 1) / warmupSteps;
    }
    // 2. past the end: stay at zero
    if (t >= totalSteps) {
      return 0;
    }
    // 3. linear decay from the peak to zero at totalSteps (polynomial decay, power 1)
    return peak * (1.0 - (double) t / totalSteps);
  }

  /**
   * Feed to replace {@code totalSteps} while running, e.g. a time-budget run's running estimate.
   */
  public static final String TOTAL_STEPS_FEED = "lr_total_steps";

  /**
   * The same schedule as graph ops on the global step: float scalar. The decay length is a
   * placeholder defaulting to {@code totalSteps}, so a time-budgeted run can feed its estimate.
   */
  public Operand<TFloat32> build(Ops tf, Operand<TInt64> globalStep) {
    return build(tf, globalStep, totalStepsFeed(tf));
  }

  /** The feed {@link #TOTAL_STEPS_FEED}, defaulting to {@code totalSteps}: float scalar. */
  public Operand<TFloat32> totalStepsFeed(Ops tf) {
    return tf.withName(TOTAL_STEPS_FEED)
        .placeholderWithDefault(tf.constant((float) totalSteps), Shape.scalar());
  }

  /** As {@link #build(Ops, Operand)}, decaying over {@code total} steps (float scalar). */
  public Operand<TFloat32> build(Ops tf, Operand<TInt64> globalStep, Operand<TFloat32> total) {
    Operand<TFloat32> t =
        tf.dtypes.cast(tf.math.sub(globalStep, tf.constant(startStep)), TFloat32.class);
    Operand<TFloat32> peakLr = tf.constant((float) peak);
    Operand<TFloat32> decayed =
        tf.math.mul(
            peakLr,
            tf.math.maximum(tf.constant(0f), tf.math.sub(tf.constant(1f), tf.math.div(t, total))));
    if (warmupSteps == 0) {
      return decayed;
    }
    Operand<TFloat32> warm =
        tf.math.mul(
            peakLr, tf.math.div(tf.math.add(t, tf.constant(1f)), tf.constant((float) warmupSteps)));
    return tf.select(tf.math.less(t, tf.constant((float) warmupSteps)), warm, decayed);
  }
}
