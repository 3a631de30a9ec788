package corebert.model;

import static corebert.model.VariableNames.*;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * BERT's pretraining heads under {@code cls/}: the masked-LM head, tied to the word embeddings with
 * its own output bias, and the next-sentence head. Losses use {@code logSoftmax} with one-hot
 * labels because SparseSoftmaxCrossEntropyWithLogits has no C++ gradient in TF Java.
 *
 * <p>Dimensions: B batch, T sequence, P max predictions per sequence, H hidden, V vocabulary.
 */
public final class PretrainingHeads {
  /** Per-batch losses and accuracies, all float scalars. */
  public record Losses(
      Operand<TFloat32> total,
      Operand<TFloat32> mlmLoss,
      Operand<TFloat32> nspLoss,
      Operand<TFloat32> mlmAccuracy,
      Operand<TFloat32> nspAccuracy,
      // Sums over the batch, for exact averages across eval batches.
      Operand<TFloat32> mlmLossSum,
      Operand<TFloat32> mlmCorrectSum,
      Operand<TFloat32> mlmWeightSum,
      Operand<TFloat32> nspCorrectSum) {}

  private PretrainingHeads() {}

  /**
   * Builds both heads and their losses.
   *
   * @param sequenceOutput float [B*T, H]
   * @param pooledOutput float [B, H]
   * @param wordEmbeddings float [V, H]
   * @param positions int32 [B, P] masked positions
   * @param labelIds int32 [B, P] original token ids at those positions
   * @param weights float [B, P], 1 for real predictions and 0 for padding
   * @param nextSentenceLabels int32 [B], 1 when sentence B is random
   * @param store where the variables come from: replicas of one model share them
   */
  public static Losses build(
      Ops tf,
      BertConfig cfg,
      BertModel.Outputs encoder,
      Operand<TInt32> positions,
      Operand<TInt32> labelIds,
      Operand<TFloat32> weights,
      Operand<TInt32> nextSentenceLabels,
      long seed,
      VariableStore store) {
    Ops cls = tf.withSubScope(CLS);
    Layers layers = new Layers(tf, seed, store);
    Operand<TInt32> batch = Shapes.dynamicDim(tf, positions, 0);
    Operand<TInt32> seq =
        tf.math.div(Shapes.dynamicDim(tf, encoder.sequenceOutput(), 0), batch); // T = (B*T) / B
    Operand<TFloat32> gathered =
        gatherIndexes(tf, encoder.sequenceOutput(), positions, batch, seq); // [B*P, H]
    Operand<TFloat32> logProbs =
        maskedLmOutput(
            cls.withSubScope(PREDICTIONS),
            tf,
            layers,
            cfg,
            gathered,
            encoder.wordEmbeddings()); // [B*P, V]

    MaskedLm mlm = maskedLmLoss(tf, cfg, logProbs, labelIds, weights);
    NextSentence nsp =
        nextSentenceLoss(tf, cls, layers, cfg, encoder.pooledOutput(), nextSentenceLabels);

    Operand<TFloat32> total = tf.withName(Endpoints.TOTAL_LOSS).math.add(mlm.loss(), nsp.loss());
    return new Losses(
        total,
        mlm.loss(),
        nsp.loss(),
        mlm.accuracy(),
        nsp.accuracy(),
        mlm.lossSum(),
        mlm.correctSum(),
        mlm.weightSum(),
        nsp.correctSum());
  }

  /** The MLM head's loss and accuracy, and the sums behind them (replicas add these up). */
  private record MaskedLm(
      Operand<TFloat32> loss,
      Operand<TFloat32> accuracy,
      Operand<TFloat32> lossSum,
      Operand<TFloat32> correctSum,
      Operand<TFloat32> weightSum) {}

  /** The NSP head's loss and accuracy, and its count of correct answers. */
  private record NextSentence(
      Operand<TFloat32> loss, Operand<TFloat32> accuracy, Operand<TFloat32> correctSum) {}

  /** The weighted mean cross-entropy of the masked positions, and their accuracy. */
  private static MaskedLm maskedLmLoss(
      Ops tf,
      BertConfig cfg,
      Operand<TFloat32> logProbs,
      Operand<TInt32> labelIds,
      Operand<TFloat32> weights) {
    Operand<TInt32> flatLabels = tf.reshape(labelIds, tf.constant(new int[] {-1})); // [B*P]
    Operand<TFloat32> flatWeights = tf.reshape(weights, tf.constant(new int[] {-1})); // [B*P]
    Operand<TFloat32> oneHot =
        tf.oneHot(flatLabels, tf.constant(cfg.vocabSize()), tf.constant(1f), tf.constant(0f));
    Operand<TFloat32> perExample =
        tf.math.neg(tf.sum(tf.math.mul(logProbs, oneHot), tf.constant(-1))); // [B*P]
    Operand<TFloat32> mlmLossSum = tf.sum(tf.math.mul(perExample, flatWeights), tf.constant(0));
    Operand<TFloat32> mlmWeightSum = tf.sum(flatWeights, tf.constant(0));
    // 1e-5 keeps a batch without predictions finite, as in run_pretraining.py.
    Operand<TFloat32> predictions = tf.math.add(mlmWeightSum, tf.constant(1e-5f));
    Operand<TFloat32> mlmLoss = tf.withName(Endpoints.MLM_LOSS).math.div(mlmLossSum, predictions);
    Operand<TFloat32> mlmCorrect =
        tf.math.mul(correct(tf, logProbs, flatLabels), flatWeights); // [B*P]
    Operand<TFloat32> mlmCorrectSum = tf.sum(mlmCorrect, tf.constant(0));
    Operand<TFloat32> mlmAccuracy =
        tf.withName(Endpoints.MLM_ACCURACY).math.div(mlmCorrectSum, predictions);

    return new MaskedLm(mlmLoss, mlmAccuracy, mlmLossSum, mlmCorrectSum, mlmWeightSum);
  }

  /** The mean cross-entropy of "is sentence B random?", and its accuracy. */
  private static NextSentence nextSentenceLoss(
      Ops tf,
      Ops cls,
      Layers layers,
      BertConfig cfg,
      Operand<TFloat32> pooledOutput,
      Operand<TInt32> nextSentenceLabels) {
    Operand<TFloat32> nspLogProbs =
        nextSentenceOutput(
            cls.withSubScope(SEQ_RELATIONSHIP), tf, layers, cfg, pooledOutput); // [B, 2]
    Operand<TFloat32> nspOneHot =
        tf.oneHot(nextSentenceLabels, tf.constant(2), tf.constant(1f), tf.constant(0f));
    Operand<TFloat32> nspLoss =
        tf.withName(Endpoints.NSP_LOSS)
            .math
            .neg(
                tf.math.mean(
                    tf.sum(tf.math.mul(nspLogProbs, nspOneHot), tf.constant(-1)), tf.constant(0)));
    Operand<TFloat32> nspCorrect = correct(tf, nspLogProbs, nextSentenceLabels); // [B]
    Operand<TFloat32> nspCorrectSum = tf.sum(nspCorrect, tf.constant(0));
    Operand<TFloat32> nspAccuracy =
        tf.withName(Endpoints.NSP_ACCURACY)
            .math
            .mean(nspCorrect, tf.constant(0), Mean.keepDims(false));

    return new NextSentence(nspLoss, nspAccuracy, nspCorrectSum);
  }

  /**
   * Gathers the vectors at the masked positions of each sequence: [B*T, H] with positions [B, P] ->
   * [B*P, H]. Offsets b*T turn per-sequence positions into rows of the flat encoder output.
   */
  static Operand<TFloat32> gatherIndexes(
      Ops tf,
      Operand<TFloat32> sequence,
      Operand<TInt32> positions,
      Operand<TInt32> batch,
      Operand<TInt32> seq) {
    Operand<TInt32> offsets =
        tf.reshape(
            tf.math.mul(tf.range(tf.constant(0), batch, tf.constant(1)), seq),
            tf.constant(new int[] {-1, 1})); // [B, 1]
    Operand<TInt32> flat =
        tf.reshape(tf.math.add(positions, offsets), tf.constant(new int[] {-1})); // [B*P]
    return tf.gather(sequence, flat, tf.constant(0)); // [B*P, H]
  }

  /** transform (dense + act + LayerNorm) then logits against the tied word embeddings. */
  private static Operand<TFloat32> maskedLmOutput(
      Ops predictions,
      Ops tf,
      Layers layers,
      BertConfig cfg,
      Operand<TFloat32> x,
      Operand<TFloat32> wordEmbeddings) {
    int h = cfg.hiddenSize();
    Ops transform = predictions.withSubScope(TRANSFORM);
    Operand<TFloat32> y =
        layers.dense(transform.withSubScope(DENSE), x, h, h, cfg.initializerRange()); // [B*P, H]
    y = layers.layerNorm(transform, Layers.activation(tf, cfg.hiddenAct(), y), h);
    Operand<TFloat32> outputBias =
        tf.identity(layers.constant(predictions, OUTPUT_BIAS, cfg.vocabSize(), 0f));
    Operand<TFloat32> logits =
        tf.math.add(layers.matMul(y, wordEmbeddings, true), outputBias); // [B*P, V]
    return tf.nn.logSoftmax(logits);
  }

  /** A 2-way classifier on the pooled [CLS] vector: [B, H] -> log-probabilities [B, 2]. */
  private static Operand<TFloat32> nextSentenceOutput(
      Ops seqRelationship, Ops tf, Layers layers, BertConfig cfg, Operand<TFloat32> pooled) {
    Operand<TFloat32> weights =
        tf.identity(
            layers.truncatedNormal(
                seqRelationship,
                OUTPUT_WEIGHTS,
                Shape.of(2, cfg.hiddenSize()),
                cfg.initializerRange()));
    Operand<TFloat32> bias = tf.identity(layers.constant(seqRelationship, OUTPUT_BIAS, 2, 0f));
    Operand<TFloat32> logits = tf.math.add(layers.matMul(pooled, weights, true), bias); // [B, 2]
    return tf.nn.logSoftmax(logits);
  }

  /** 1.0 where argmax(logProbs) equals the label, else 0.0. */
  private static Operand<TFloat32> correct(
      Ops tf, Operand<TFloat32> logProbs, Operand<TInt32> labels) {
    Operand<TInt32> predicted = tf.math.argMax(logProbs, tf.constant(-1), TInt32.class);
    return tf.dtypes.cast(tf.math.equal(predicted, labels), TFloat32.class);
  }
}
