package corebert.model;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The fine-tuning head of google-research/bert's run_classifier.py: a linear layer on the pooled
 * [CLS] vector, with its variables {@code output_weights} [K, H] and {@code output_bias} [K] at the
 * root scope, as BERT's classifier checkpoints name them. K = 1 for regression (STS-B).
 */
public final class ClassifierHead {
  public static final String OUTPUT_WEIGHTS = VariableNames.OUTPUT_WEIGHTS;
  public static final String OUTPUT_BIAS = VariableNames.OUTPUT_BIAS;

  private ClassifierHead() {}

  /**
   * @param pooled float [B, H]
   * @return logits float [B, K]
   */
  public static Operand<TFloat32> logits(
      Ops tf, BertConfig cfg, Operand<TFloat32> pooled, int numOutputs, long seed) {
    Layers layers = new Layers(tf, seed, VariableStore.create());
    Operand<TFloat32> weights =
        tf.identity(
            layers.truncatedNormal(
                tf,
                OUTPUT_WEIGHTS,
                Shape.of(numOutputs, cfg.hiddenSize()),
                cfg.initializerRange()));
    Operand<TFloat32> bias = tf.identity(layers.constant(tf, OUTPUT_BIAS, numOutputs, 0f));
    return tf.withName("logits").math.add(layers.matMul(pooled, weights, true), bias); // [B, K]
  }
}
