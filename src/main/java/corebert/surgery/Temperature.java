package corebert.surgery;

import static corebert.model.VariableNames.*;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Evaluator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Logger;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * A softmax temperature τ per layer, fitted at surgery and folded into the query kernel and bias.
 * Linear attention hardly depends on the scale of Q·Kᵀ, so phase 1 lets it grow, and softmax right
 * after surgery is far too sharp. Scaling Wq and bq by τ scales every logit (x·Wq + bq)·Kᵀ/√D by
 * exactly τ under the same names and shapes: the result stays a plain BERT checkpoint.
 *
 * <p>τ is fitted on training records, to the converted model's MLM loss with every scored position
 * shown as [MASK] (what the switch costs is context, not copying): first one τ for all layers from
 * a geometric grid, then one sweep that tries each layer's τ times ½, 1/√2, √2 and 2.
 */
final class Temperature {
  private static final Logger LOG = Logger.getLogger(Temperature.class.getName());

  /** The shared τ's tried first: softmax after linear attention needs τ ≤ 1, rarely > 1. */
  private static final double[] GRID = {2, 1, 0.5, 0.25, 0.125, 0.0625, 0.03125};

  /** Each layer's τ is then tried times these. */
  private static final double[] REFINE = {0.5, Math.sqrt(0.5), Math.sqrt(2), 2};

  private Temperature() {}

  /** The query kernel and bias of layer {@code l}: the variables τ scales. */
  static List<String> queryVariables(int l) {
    String query = join(BERT, ENCODER, layer(l), ATTENTION, SELF, QUERY);
    return List.of(join(query, KERNEL), join(query, BIAS));
  }

  /**
   * Fits τ per layer for the converted model held by {@code full} (at {@code step}) and folds it
   * into {@code full}'s variables; trial checkpoints go to {@code scratch}, which the caller
   * removes.
   *
   * @return τ per layer
   */
  static List<Double> fitAndFold(
      BertConfig cfg, CheckpointGraph full, long step, Surgery.TemperatureFit fit, Path scratch) {
    int layers = cfg.numHiddenLayers();
    Map<String, float[]> original = read(full, layers);
    try (Evaluator.Probe probe =
        Evaluator.Probe.open(cfg, Variant.FULL, fit.inputs(), fit.batchSize(), fit.batches())) {
      Trial trial = tau -> probe.maskedLoss(withTemperatures(full, original, tau, step, scratch));
      double[] tau = new double[layers];
      Arrays.fill(tau, 1);
      double best = trial.loss(tau);
      double untouched = best;
      for (double t : GRID) {
        double[] candidate = new double[layers];
        Arrays.fill(candidate, t);
        best = keepBetter(trial, candidate, tau, best);
      }
      for (int l = 0; l < layers; l++) {
        for (double factor : REFINE) {
          double[] candidate = tau.clone();
          candidate[l] *= factor;
          best = keepBetter(trial, candidate, tau, best);
        }
      }
      write(full, original, tau);
      LOG.info(
          String.format(
              Locale.ROOT,
              "surgery: softmax temperature per layer %s fitted on %d batches of training records:"
                  + " masked MLM loss %.4f -> %.4f",
              Arrays.toString(tau),
              fit.batches(),
              untouched,
              best));
      return Arrays.stream(tau).boxed().toList();
    }
  }

  /** The masked loss of the converted model with τ per layer. */
  private interface Trial {
    double loss(double[] tau);
  }

  /** Tries {@code candidate}; if it beats {@code best}, copies it into {@code tau}. */
  private static double keepBetter(Trial trial, double[] candidate, double[] tau, double best) {
    if (Arrays.equals(candidate, tau)) {
      return best;
    }
    double loss = trial.loss(candidate);
    LOG.fine("temperature " + Arrays.toString(candidate) + ": masked MLM loss " + loss);
    if (loss < best) {
      System.arraycopy(candidate, 0, tau, 0, tau.length);
      return loss;
    }
    return best;
  }

  /** Writes τ into {@code full} and saves it as a trial checkpoint in {@code scratch}. */
  private static Path withTemperatures(
      CheckpointGraph full, Map<String, float[]> original, double[] tau, long step, Path scratch) {
    write(full, original, tau);
    return full.save(scratch, step);
  }

  private static Map<String, float[]> read(CheckpointGraph full, int layers) {
    List<String> names = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      names.addAll(queryVariables(l));
    }
    return full.readFloats(names);
  }

  /** Sets each layer's query kernel and bias to τ times their {@code original} values. */
  private static void write(CheckpointGraph full, Map<String, float[]> original, double[] tau) {
    Map<String, Tensor> scaled = new LinkedHashMap<>();
    try {
      for (int l = 0; l < tau.length; l++) {
        for (String name : queryVariables(l)) {
          float[] v = original.get(name).clone();
          for (int i = 0; i < v.length; i++) {
            v[i] *= (float) tau[l];
          }
          scaled.put(name, TFloat32.tensorOf(full.shape(name), DataBuffers.of(v, false, false)));
        }
      }
      full.writeAll(scaled);
    } finally {
      scaled.values().forEach(Tensor::close);
    }
  }
}
