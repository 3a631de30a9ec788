package corebert.train;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.BertModel.Variant;
import corebert.model.PretrainingHeads;
import corebert.model.VariableNames;
import corebert.model.VariableStore;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * The one place that builds "encoder + pretraining heads over a batch" and the one place that
 * creates the global step. Training, evaluation, data-parallel replicas, checkpoint graphs
 * (surgery), the step benchmark and the Hugging Face export build their model here, so the
 * variables they create carry the same names; fine-tuning and the SavedModel export build the
 * encoder alone with {@link corebert.model.BertModel#build} and take the global step from here.
 */
public final class PretrainingModel {
  private PretrainingModel() {}

  /** BERT over {@code batch} with its MLM and NSP heads; variables come from {@code store}. */
  public static PretrainingHeads.Losses build(
      Ops tf,
      BertConfig cfg,
      Variant variant,
      InputPipeline.Batch batch,
      long seed,
      VariableStore store) {
    BertModel.Outputs encoder =
        BertModel.build(
            tf, cfg, variant, batch.inputIds(), batch.inputMask(), batch.segmentIds(), seed, store);
    return PretrainingHeads.build(
        tf,
        cfg,
        encoder,
        batch.maskedLmPositions(),
        batch.maskedLmIds(),
        batch.maskedLmWeights(),
        batch.nextSentenceLabels(),
        seed,
        store);
  }

  /**
   * Only the model's variables, under their checkpoint names: the model is built on tiny
   * placeholders that are never fed (graph surgery, exports).
   */
  public static void buildVariables(Ops tf, BertConfig cfg, Variant variant) {
    Ops in = tf.withSubScope("dummy_input");
    Placeholder<TInt32> ids = in.placeholder(TInt32.class, Placeholder.shape(Shape.of(1, 2)));
    Placeholder<TInt32> positions = in.placeholder(TInt32.class, Placeholder.shape(Shape.of(1, 1)));
    InputPipeline.Batch dummy =
        new InputPipeline.Batch(
            ids,
            ids,
            ids,
            positions,
            positions,
            in.placeholder(TFloat32.class, Placeholder.shape(Shape.of(1, 1))),
            in.placeholder(TInt32.class, Placeholder.shape(Shape.of(1))));
    build(tf, cfg.withoutDropout(), variant, dummy, 0, VariableStore.create());
  }

  /** {@code global_step}, int64, initialised to 0. */
  public static Variable<TInt64> globalStep(Ops tf) {
    Ops init = tf.withInitScope();
    Variable<TInt64> step =
        init.withName(VariableNames.GLOBAL_STEP).variable(Shape.scalar(), TInt64.class);
    init.assign(step, init.constant(0L));
    return step;
  }
}
