package corebert.model;

import java.util.Locale;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TFloating;

/**
 * The type matrix products are computed in. Variables, LayerNorm, softmax, the losses and the
 * optimizer stay float32 (mixed precision, Micikevicius et al. 2018): only the inputs of each
 * matmul are cast down and its result cast back up. fp16 wants dynamic loss scaling; bf16 has
 * float32's exponent range and does not.
 */
public enum Precision {
  FP32(TFloat32.class),
  BF16(TBfloat16.class),
  FP16(TFloat16.class);

  final Class<? extends TFloating> type;

  Precision(Class<? extends TFloating> type) {
    this.type = type;
  }

  /** fp32, bf16 or fp16. */
  public static Precision parse(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "precision must be fp32, bf16 or fp16, got '" + name + "'");
    }
  }
}
