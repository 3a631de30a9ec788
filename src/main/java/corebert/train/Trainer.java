package corebert.train;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.util.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.exceptions.TFOutOfRangeException;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The pretraining loop, in nanoGPT's order: build graph → open session → restore or initialise →
 * loop (step → log → checkpoint → stop). A run resumes by itself from the newest checkpoint in its
 * output directory, with the architecture taken from that directory's {@code bert_config.json}.
 */
public final class Trainer {
  private static final Logger LOG = Logger.getLogger(Trainer.class.getName());
  public static final String BERT_CONFIG = "bert_config.json";
  public static final String TRAIN_CONFIG = "train_config.json";

  /**
   * How a run ended. {@code setupSec} is the wall time before the first step (graph, session,
   * restore), which {@code elapsedSec} leaves out.
   */
  public record Outcome(
      long step, double loss, double elapsedSec, double setupSec, Path checkpoint) {}

  private Trainer() {}

  /** Trains until {@code tc.steps()} or the time budget, then saves and returns. */
  public static Outcome train(BertConfig cfg, TrainConfig tc) {
    long setupStart = System.nanoTime();
    InputPipeline.DataShape shape = InputPipeline.inspect(tc.inputs());
    Path dir = tc.outputDir();
    createDirectories(dir);
    refuseOtherModel(dir, cfg, tc);
    Optional<Path> resume = Checkpoints.latest(dir);
    LOG.info(
        String.format(
            "%s BERT: L%d H%d A%d I%d, vocab %d; data seq %d, %d predictions; batch %d; %s",
            tc.variant().name().toLowerCase(), cfg.numHiddenLayers(), cfg.hiddenSize(),
            cfg.numAttentionHeads(), cfg.intermediateSize(), cfg.vocabSize(),
            shape.maxSeqLength(), shape.maxPredictions(), tc.batchSize(),
            tc.timeBudgetSec() > 0 ? "budget " + tc.timeBudgetSec() + " s" : "to step " + tc.steps()));

    try (PretrainingGraph g = PretrainingGraph.forTraining(cfg, tc, shape)) {
      long step = 0;
      if (resume.isPresent()) {
        g.restoreAll(resume.get());
        step = readStep(g);
        g.logVariables("restored from " + resume.get());
        tc.initCheckpoint()
            .ifPresent(
                init -> LOG.info("resuming, so --init-checkpoint " + init + " is not used again"));
      } else {
        g.initialize();
        if (tc.initCheckpoint().isPresent()) {
          g.restoreModel(tc.initCheckpoint().get());
          g.logVariables("initialised from " + tc.initCheckpoint().get());
          step = tc.scheduleStart();
          setStep(g, step);
        } else {
          g.logVariables("freshly initialised");
        }
      }
      cfg.writeTo(dir.resolve(BERT_CONFIG));
      Checkpoints.writeAtomically(dir.resolve(TRAIN_CONFIG), tc.toJson(cfg));
      try {
        return loop(g, tc, step, (System.nanoTime() - setupStart) / 1e9);
      } catch (TensorFlowException e) {
        if (tc.parallel().cluster().isEmpty()) {
          throw e;
        }
        g.abandonSession(); // closing it would wait for ever on the dead worker
        throw new IllegalStateException(
            String.format(
                "training failed on the cluster (%s): a worker died or stopped answering; last"
                    + " checkpoint: %s; restart every task with the same command to resume",
                String.join(" ", e.getMessage().lines().map(String::strip).limit(2).toList()),
                Checkpoints.latest(dir).map(Path::toString).orElse("none")),
            e);
      }
    }
  }

  private static Outcome loop(PretrainingGraph g, TrainConfig tc, long startStep, double setupSec) {
    Path dir = tc.outputDir();
    double elapsedBefore = lastElapsed(tc.metricsDir().resolve(MetricsLog.FILE), startStep);
    AdamWeightDecay.Update update = g.update.orElseThrow();
    long step = startStep;
    Path lastCheckpoint = Checkpoints.latest(dir).orElse(null);
    double lastLoss = Double.NaN;
    int badInARow = 0;
    long windowStart = System.nanoTime();
    long runStart = windowStart;
    long lastSave = windowStart;
    int windowSteps = 0;
    InputPosition position = g.position.orElseThrow();
    long[] at = position.read(g.session); // {epoch, records consumed in it}; 0s for a fresh run
    g.startInput(epochSeed(tc, at[0]), at[1]);
    boolean batchInEpoch = at[1] > 0;
    try (MetricsLog metrics = new MetricsLog(tc.metricsDir(), startStep)) {
      while (true) {
        double runSec = (System.nanoTime() - runStart) / 1e9;
        if (tc.timeBudgetSec() > 0 ? runSec + elapsedBefore >= tc.timeBudgetSec() : step >= tc.steps()) {
          break;
        }
        float loss, mlm, nsp, acc, lr, norm;
        boolean applied;
        Session.Runner runner =
            g.session
                .runner()
                .addTarget(update.trainOp())
                .fetch(g.losses.total())
                .fetch(g.losses.mlmLoss())
                .fetch(g.losses.nspLoss())
                .fetch(g.losses.mlmAccuracy())
                .fetch(g.learningRate.orElseThrow())
                .fetch(update.gradNorm())
                .fetch(update.applied());
        TFloat32 totalFeed = null;
        if (tc.timeBudgetSec() > 0 && step > startStep) {
          // Decay over the steps the budget is expected to allow at the speed seen so far.
          double perStep = runSec / (step - startStep);
          double decayEnd = tc.timeBudgetSec() * tc.decaySpan();
          double expected = step + (decayEnd - elapsedBefore - runSec) / perStep;
          totalFeed = TFloat32.scalarOf((float) Math.max(1, expected - tc.scheduleStart()));
          runner.feed(LrSchedule.TOTAL_STEPS_FEED, totalFeed);
        }
        // The one host sync per step: the scalars below come back from the session.
        try (Result r = runner.run()) {
          at[1] += tc.batchSize();
          batchInEpoch = true;
          loss = ((TFloat32) r.get(0)).getFloat();
          mlm = ((TFloat32) r.get(1)).getFloat();
          nsp = ((TFloat32) r.get(2)).getFloat();
          acc = ((TFloat32) r.get(3)).getFloat();
          lr = ((TFloat32) r.get(4)).getFloat();
          norm = ((TFloat32) r.get(5)).getFloat();
          applied = ((TBool) r.get(6)).getBoolean();
        } catch (TFOutOfRangeException endOfEpoch) {
          // Nothing was applied: the step failed at its input. Start the next epoch.
          if (!batchInEpoch) {
            throw new IllegalArgumentException(
                "the input holds fewer than --batch-size " + tc.batchSize() + " records");
          }
          at[0]++;
          at[1] = 0;
          batchInEpoch = false;
          LOG.info("epoch " + at[0] + " starts at step " + (step + 1));
          g.startInput(epochSeed(tc, at[0]), 0);
          continue;
        } finally {
          if (totalFeed != null) {
            totalFeed.close();
          }
        }
        if (!applied) {
          badInARow++;
          LOG.warning(
              String.format(
                  "step %d: non-finite loss %s or gradient norm %s; update skipped (%d in a row)",
                  step + 1, loss, norm, badInARow));
          if (badInARow >= tc.maxBadSteps()) {
            throw new IllegalStateException(
                String.format(
                    "training diverged: %d non-finite steps in a row at step %d; last good"
                        + " checkpoint: %s (left untouched)",
                    badInARow, step + 1, lastCheckpoint == null ? "none" : lastCheckpoint));
          }
          continue;
        }
        badInARow = 0;
        step++;
        windowSteps++;
        lastLoss = loss;
        boolean last =
            tc.timeBudgetSec() > 0
                ? (System.nanoTime() - runStart) / 1e9 + elapsedBefore >= tc.timeBudgetSec()
                : step >= tc.steps();
        boolean timedSave =
            tc.saveEverySec() > 0 && (System.nanoTime() - lastSave) / 1e9 >= tc.saveEverySec();
        boolean save = step % tc.saveEvery() == 0 || last || timedSave;
        if (step % tc.logEvery() == 0 || save || step == startStep + 1) {
          long now = System.nanoTime();
          double windowSec = (now - windowStart) / 1e9;
          double exPerSec = windowSteps * tc.batchSize() / windowSec;
          double elapsed = elapsedBefore + (now - runStart) / 1e9;
          Map<String, Object> rec = new LinkedHashMap<>();
          rec.put("step", step);
          rec.put("phase", tc.phase());
          rec.put("loss", (double) loss);
          rec.put("mlm_loss", (double) mlm);
          rec.put("nsp_loss", (double) nsp);
          rec.put("mlm_accuracy", (double) acc);
          rec.put("lr", (double) lr);
          rec.put("grad_norm", (double) norm);
          rec.put("examples_per_sec", exPerSec);
          rec.put("elapsed_sec", elapsed);
          rec.put("rss_mb", MetricsLog.residentMb());
          metrics.log(step, rec);
          LOG.info(
              String.format(
                  "step %d: loss %.4f (mlm %.4f, nsp %.4f), mlm acc %.3f, lr %.2e, %.0f ms,"
                      + " %.1f seq/s%s",
                  step, loss, mlm, nsp, acc, lr, 1000 * windowSec / windowSteps, exPerSec,
                  eta(tc, step, startStep, elapsed, elapsedBefore, (now - runStart) / 1e9)));
          windowStart = now;
          windowSteps = 0;
        }
        if (save) {
          position.write(g.session, at[0], at[1]);
          lastCheckpoint = Checkpoints.save(g.session, dir, step, tc.keepCheckpoints());
          lastSave = System.nanoTime();
          LOG.info("saved " + lastCheckpoint);
        }
      }
    }
    if (lastCheckpoint == null || Checkpoints.stepOf(lastCheckpoint) != step) {
      position.write(g.session, at[0], at[1]);
      lastCheckpoint = Checkpoints.save(g.session, dir, step, tc.keepCheckpoints());
    }
    double elapsed = elapsedBefore + (System.nanoTime() - runStart) / 1e9;
    return new Outcome(step, lastLoss, elapsed, setupSec, lastCheckpoint);
  }

  /** Each epoch has its own shuffle order, fixed by the run's seed. */
  private static long epochSeed(TrainConfig tc, long epoch) {
    return tc.seed() * 1_000_003L + epoch;
  }

  private static String eta(
      TrainConfig tc, long step, long startStep, double elapsed, double elapsedBefore, double runSec) {
    if (tc.timeBudgetSec() > 0) {
      return String.format(", %.0f s left", Math.max(0, tc.timeBudgetSec() - elapsed));
    }
    double perStep = runSec / Math.max(1, step - startStep);
    double left = perStep * (tc.steps() - step);
    return left >= 60
        ? String.format(", ETA %dm%02ds", (long) left / 60, (long) left % 60)
        : String.format(", ETA %.0fs", left);
  }

  private static long readStep(PretrainingGraph g) {
    try (Result r = g.session.runner().fetch(g.globalStep.orElseThrow()).run()) {
      return ((TInt64) r.get(0)).getLong();
    }
  }

  private static void setStep(PretrainingGraph g, long step) {
    try (TInt64 value = TInt64.scalarOf(step)) {
      g.session.runner().feed(g.stepFeed, value).addTarget(g.setStep).run();
    }
  }

  /** Continues the elapsed-time axis of an interrupted run from its last logged record. */
  private static double lastElapsed(Path metricsFile, long step) {
    if (step == 0 || !Files.exists(metricsFile)) {
      return 0;
    }
    double elapsed = 0;
    for (Map<String, Object> rec : MetricsLog.read(metricsFile)) {
      if (rec.get("step") instanceof Number s
          && s.longValue() <= step
          && rec.get("elapsed_sec") instanceof Number e) {
        elapsed = e.doubleValue();
      }
    }
    return elapsed;
  }

  /**
   * An output directory holding another model's checkpoints is refused, not overwritten: the
   * architecture of a resumed run comes from the directory.
   */
  private static void refuseOtherModel(Path dir, BertConfig cfg, TrainConfig tc) {
    Path saved = dir.resolve(BERT_CONFIG);
    if (!Files.exists(saved) || Checkpoints.latest(dir).isEmpty()) {
      return;
    }
    BertConfig previous = BertConfig.fromJsonFile(saved);
    Optional<String> mismatch = previous.shapeMismatch(cfg);
    if (mismatch.isPresent()) {
      throw new IllegalArgumentException(
          dir + " holds checkpoints of a different model (" + mismatch.get()
              + "); use a new --output-dir");
    }
    boolean wasRelaxed = previous.relaxed().isPresent() && isRelaxedRun(dir);
    if (wasRelaxed != (tc.variant() == BertModel.Variant.RELAXED)) {
      throw new IllegalArgumentException(
          dir + " holds checkpoints of the " + (wasRelaxed ? "relaxed" : "full")
              + " model; use a new --output-dir");
    }
  }

  private static boolean isRelaxedRun(Path dir) {
    try {
      String json = Files.readString(dir.resolve(TRAIN_CONFIG));
      return Json.parseObject(json).get("model").equals("relaxed");
    } catch (IOException e) {
      return false;
    }
  }

  private static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create output directory " + dir, e);
    }
  }
}
