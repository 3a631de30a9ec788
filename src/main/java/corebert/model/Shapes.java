package corebert.model;

import java.util.Arrays;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt32;

/** Shape checks while the graph is built, and dynamic shape vectors for reshapes. */
public final class Shapes {
  private Shapes() {}

  /** Fails at build time, naming the tensor, when its static rank is not the expected one. */
  public static void requireRank(Operand<?> x, int rank, String name) {
    Shape s = x.shape();
    if (s.isUnknown() || s.numDimensions() != rank) {
      throw new IllegalStateException(
          "tensor '"
              + name
              + "' ("
              + x.op().name()
              + ") must have rank "
              + rank
              + ", has shape "
              + s);
    }
  }

  /**
   * A 1-D int32 shape vector mixing dynamic scalars (int32 Operands) and static ints, for reshapes
   * whose batch or sequence size is only known at run time.
   */
  public static Operand<TInt32> dims(Ops tf, Object... parts) {
    return tf.concat(
        Arrays.stream(parts)
            .map(
                p -> {
                  if (p instanceof Integer i) {
                    return (Operand<TInt32>) tf.constant(new int[] {i});
                  }
                  @SuppressWarnings("unchecked")
                  Operand<TInt32> scalar = (Operand<TInt32>) p;
                  return (Operand<TInt32>) tf.reshape(scalar, tf.constant(new int[] {1}));
                })
            .toList(),
        tf.constant(0));
  }

  /** Dimension {@code axis} of {@code x} as a run-time int32 scalar. */
  public static Operand<TInt32> dynamicDim(Ops tf, Operand<?> x, int axis) {
    return tf.gather(tf.shape(x), tf.constant(axis), tf.constant(0));
  }
}
