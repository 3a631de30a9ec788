package corebert.train;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.exceptions.TFOutOfRangeException;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Held-out masked-LM loss and accuracy and next-sentence accuracy of a checkpoint: one ordered pass
 * over the data with dropout off, averaged exactly over all predictions (weighted sums, not a mean
 * of batch means).
 */
public final class Evaluator {
  private Evaluator() {}

  /** The metrics as an ordered map: mlm_loss, mlm_accuracy, nsp_accuracy, examples. */
  public static Map<String, Object> evaluate(
      BertConfig cfg, Variant variant, Path checkpoint, List<Path> inputs, int batchSize) {
    InputPipeline.DataShape shape = InputPipeline.inspect(inputs);
    try (PretrainingGraph g = PretrainingGraph.forEval(cfg, variant, inputs, batchSize, shape)) {
      g.initialize();
      g.restoreModel(checkpoint);
      g.startInput(0, 0);
      double lossSum = 0;
      double correctSum = 0;
      double weightSum = 0;
      double nspCorrect = 0;
      long examples = 0;
      while (true) {
        try (Result r =
            g.session
                .runner()
                .fetch(g.losses.mlmLossSum())
                .fetch(g.losses.mlmCorrectSum())
                .fetch(g.losses.mlmWeightSum())
                .fetch(g.losses.nspCorrectSum())
                .fetch(g.inputs.get(0).batch().nextSentenceLabels())
                .run()) {
          lossSum += ((TFloat32) r.get(0)).getFloat();
          correctSum += ((TFloat32) r.get(1)).getFloat();
          weightSum += ((TFloat32) r.get(2)).getFloat();
          nspCorrect += ((TFloat32) r.get(3)).getFloat();
          examples += ((TInt32) r.get(4)).shape().get(0);
        } catch (TFOutOfRangeException endOfData) {
          break;
        }
      }
      if (examples == 0) {
        throw new IllegalArgumentException("no evaluation examples in " + inputs);
      }
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("mlm_loss", lossSum / weightSum);
      out.put("mlm_accuracy", correctSum / weightSum);
      out.put("nsp_accuracy", nspCorrect / examples);
      out.put("examples", examples);
      return out;
    }
  }
}
