package corebert.train;

import com.fasterxml.jackson.annotation.JsonProperty;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Held-out MLM loss against training time: every checkpoint a run kept, evaluated after the run, so
 * the curve costs no training time. Benchmarks judge by it and {@code run}'s report draws it.
 */
public final class HeldOutCurve {
  private static final Logger LOG = Logger.getLogger(HeldOutCurve.class.getName());

  /**
   * One evaluated checkpoint: seconds on the run's clock, step, phase, and the held-out MLM loss
   * and accuracy with every scored token masked (no copying of the tokens google-research's masking
   * leaves visible), then the plain ones for reference.
   */
  public record Point(
      double sec,
      long step,
      String phase,
      @JsonProperty("mlm_loss_masked") double loss,
      @JsonProperty("mlm_accuracy_masked") double accuracy,
      @JsonProperty("mlm_loss") double plainLoss,
      @JsonProperty("mlm_accuracy") double plainAccuracy) {}

  private HeldOutCurve() {}

  /**
   * Evaluates every checkpoint in {@code ckptDir}; a point's time is the elapsed training seconds
   * that {@code metricsDir}'s metrics.jsonl logged at its step, plus {@code extraSec}.
   */
  public static List<Point> evaluate(
      BertConfig cfg,
      Variant variant,
      Path ckptDir,
      Path metricsDir,
      String phase,
      double extraSec,
      Evaluator.HeldOut heldOut,
      int batchSize) {
    Map<Long, Double> elapsed = new HashMap<>();
    for (MetricsLog.Entry e : MetricsLog.read(metricsDir.resolve(RunDir.METRICS))) {
      elapsed.put(e.step(), e.elapsedSec());
    }
    List<Point> points = new ArrayList<>();
    for (Path ckpt : Checkpoints.all(ckptDir)) {
      long step = Checkpoints.stepOf(ckpt);
      // Surgery's checkpoint sits at phase 1's last step and time.
      Double sec = elapsed.get(step);
      if (sec == null) {
        throw new IllegalStateException("no metrics record at step " + step + " in " + metricsDir);
      }
      Evaluator.Metrics m = Evaluator.evaluate(cfg, variant, ckpt, heldOut, batchSize);
      Point p =
          new Point(
              sec + extraSec,
              step,
              phase,
              m.mlmLossMasked(),
              m.mlmAccuracyMasked(),
              m.mlmLoss(),
              m.mlmAccuracy());
      LOG.info(
          String.format(
              Locale.ROOT,
              "  %s step %d at %.0f s: held-out MLM loss (scored tokens masked) %.4f, accuracy %.4f",
              phase,
              step,
              p.sec(),
              p.loss(),
              p.accuracy()));
      points.add(p);
    }
    return points;
  }
}
