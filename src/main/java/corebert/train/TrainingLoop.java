package corebert.train;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.logging.Logger;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TFOutOfRangeException;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;

/**
 * One run of the training loop over an initialised {@link PretrainingGraph}: step → stop? → log →
 * save, until the step count or the time budget is reached. The input position goes into every
 * checkpoint, so a resumed run continues at the same record.
 *
 * <p>With collective all-reduce every task runs this loop in lockstep; only the chief writes
 * metrics and checkpoints, and a time budget ends on the chief's clock: it flags the last step, and
 * every task stops after it (one step past the budget at most).
 */
final class TrainingLoop {
  private static final Logger LOG = Logger.getLogger(TrainingLoop.class.getName());

  /** The scalars one step brings back: its one host sync. */
  private record StepResult(
      float loss,
      float mlm,
      float nsp,
      float accuracy,
      float lr,
      float gradNorm,
      boolean applied) {}

  private final PretrainingGraph g;
  private final TrainConfig tc;
  private final PretrainingGraph.Training training;
  private final AdamWeightDecay.Update update;
  private final InputPosition position;
  private final long startStep;
  private final boolean chief;
  private boolean stopAgreed;

  /** Training seconds of the runs this one resumes, so the time axis and budget continue. */
  private final double elapsedBefore;

  private final long runStart = System.nanoTime();

  private long step;
  private InputPosition.At at;
  private boolean batchInEpoch;
  private int badInARow;
  private double lastLoss = Double.NaN;
  private Path lastCheckpoint;
  private long lastSave = runStart;
  private long windowStart = runStart;
  private int windowSteps;

  TrainingLoop(PretrainingGraph g, TrainConfig tc, long startStep) {
    this.g = g;
    this.tc = tc;
    this.training = g.training.orElseThrow();
    this.update = training.update();
    this.position = training.position();
    this.startStep = startStep;
    this.step = startStep;
    this.chief = tc.parallel().isChief();
    this.elapsedBefore =
        chief ? lastElapsed(tc.metricsDir().resolve(RunDir.METRICS), startStep) : 0;
    this.lastCheckpoint = chief ? Checkpoints.latest(tc.outputDir()).orElse(null) : null;
  }

  /** Trains to the end, saves a final checkpoint, and returns how the run ended. */
  TrainingOutcome run(double setupSec) {
    at = position.read(g.session);
    g.startInput(epochSeed(at.epoch()), at.records());
    batchInEpoch = at.records() > 0;
    try (MetricsLog metrics = chief ? new MetricsLog(tc.metricsDir(), startStep) : null) {
      while (!finished()) {
        Optional<StepResult> r = step();
        if (r.isEmpty() || !accepted(r.get())) {
          continue;
        }
        boolean save = dueForSave();
        if (step % tc.logEvery() == 0 || save || step == startStep + 1) {
          log(metrics, r.get());
        }
        if (save) {
          save();
        }
      }
    }
    if (chief && (lastCheckpoint == null || Checkpoints.stepOf(lastCheckpoint) != step)) {
      save();
    }
    return new TrainingOutcome(step, lastLoss, elapsedSec(), setupSec, lastCheckpoint);
  }

  private double runSec() {
    return (System.nanoTime() - runStart) / 1e9;
  }

  private double elapsedSec() {
    return elapsedBefore + runSec();
  }

  /** The step count or the time budget is reached (with collectives, on the chief's clock). */
  private boolean finished() {
    if (!(tc.timeBudgetSec() > 0)) {
      return step >= tc.steps();
    }
    return training.stopAgreed().isPresent() ? stopAgreed : budgetSpent();
  }

  private boolean budgetSpent() {
    return elapsedSec() >= tc.timeBudgetSec();
  }

  /** Runs one training step; empty at the end of an epoch, after starting the next one. */
  private Optional<StepResult> step() {
    Session.Runner runner =
        g.session
            .runner()
            .addTarget(update.trainOp())
            .fetch(g.losses.total())
            .fetch(g.losses.mlmLoss())
            .fetch(g.losses.nspLoss())
            .fetch(g.losses.mlmAccuracy())
            .fetch(training.learningRate())
            .fetch(update.gradNorm())
            .fetch(update.applied());
    training.stopAgreed().ifPresent(runner::fetch);
    try (TFloat32 totalSteps = expectedTotalSteps();
        TFloat32 stop = stopVote()) {
      if (totalSteps != null) {
        runner.feed(LrSchedule.TOTAL_STEPS_FEED, totalSteps);
      }
      if (stop != null) {
        runner.feed(PretrainingGraph.STOP_FEED, stop);
      }
      try (Result r = runner.run()) {
        at = at.afterBatch(tc.batchSize());
        batchInEpoch = true;
        stopAgreed = training.stopAgreed().isPresent() && scalar(r, 7) > 0;
        return Optional.of(
            new StepResult(
                scalar(r, 0),
                scalar(r, 1),
                scalar(r, 2),
                scalar(r, 3),
                scalar(r, 4),
                scalar(r, 5),
                ((TBool) r.get(6)).getBoolean()));
      }
    } catch (TFOutOfRangeException endOfEpoch) {
      // Nothing was applied: the step failed at its input.
      if (!batchInEpoch) {
        throw new IllegalArgumentException(
            "the input holds fewer records than one batch of " + tc.batchSize());
      }
      at = at.nextEpoch();
      batchInEpoch = false;
      LOG.info("epoch " + at.epoch() + " starts at step " + (step + 1));
      g.startInput(epochSeed(at.epoch()), 0);
      return Optional.empty();
    }
  }

  /**
   * With collectives and a time budget, 1 when this step is to be every task's last (else null).
   */
  private TFloat32 stopVote() {
    if (training.stopAgreed().isEmpty() || !(tc.timeBudgetSec() > 0)) {
      return null;
    }
    return TFloat32.scalarOf(budgetSpent() ? 1f : 0f);
  }

  /**
   * With a time budget, the learning rate decays over the steps the budget is expected to allow at
   * the speed seen so far (null: the schedule's own length).
   */
  private TFloat32 expectedTotalSteps() {
    if (!(tc.timeBudgetSec() > 0) || step == startStep) {
      return null;
    }
    double runSec = runSec();
    double perStep = runSec / (step - startStep);
    double decayEnd = tc.timeBudgetSec() * tc.decaySpan();
    double expected = step + (decayEnd - elapsedBefore - runSec) / perStep;
    return TFloat32.scalarOf((float) Math.max(1, expected - tc.scheduleStart()));
  }

  /**
   * Counts an applied step; a skipped (non-finite) one is counted against {@code --max-bad-steps}
   * and ends the run, leaving the last good checkpoint, when there are too many in a row.
   */
  private boolean accepted(StepResult r) {
    if (!r.applied()) {
      badInARow++;
      LOG.warning(
          String.format(
              "step %d: non-finite loss %s or gradient norm %s; update skipped (%d in a row)",
              step + 1, r.loss(), r.gradNorm(), badInARow));
      if (badInARow >= tc.maxBadSteps()) {
        throw new IllegalStateException(
            String.format(
                "training diverged: %d non-finite steps in a row at step %d; last good"
                    + " checkpoint: %s (left untouched)",
                badInARow, step + 1, lastCheckpoint == null ? "none" : lastCheckpoint));
      }
      return false;
    }
    badInARow = 0;
    step++;
    windowSteps++;
    lastLoss = r.loss();
    return true;
  }

  /**
   * Every --save-every steps, every --save-every-secs seconds, and at the last step; on the chief
   * only.
   */
  private boolean dueForSave() {
    if (!chief) {
      return false;
    }
    boolean timed =
        tc.saveEverySec() > 0 && (System.nanoTime() - lastSave) / 1e9 >= tc.saveEverySec();
    return step % tc.saveEvery() == 0 || finished() || timed;
  }

  private void log(MetricsLog metrics, StepResult r) {
    long now = System.nanoTime();
    double windowSec = (now - windowStart) / 1e9;
    double exPerSec = windowSteps * tc.batchSize() / windowSec;
    double rss = MetricsLog.residentMb();
    if (metrics != null) { // null on a collective run's other tasks: the chief writes them
      metrics.log(
          new MetricsLog.Entry(
              step,
              tc.phase(),
              r.loss(),
              r.mlm(),
              r.nsp(),
              r.accuracy(),
              r.lr(),
              r.gradNorm(),
              exPerSec,
              elapsedSec(),
              Double.isNaN(rss) ? null : rss,
              MetricsLog.processCpuSec()));
    }
    LOG.info(
        String.format(
            "step %d: loss %.4f (mlm %.4f, nsp %.4f), mlm acc %.3f, lr %.2e, %.0f ms, %.1f seq/s%s",
            step,
            r.loss(),
            r.mlm(),
            r.nsp(),
            r.accuracy(),
            r.lr(),
            1000 * windowSec / windowSteps,
            exPerSec,
            eta()));
    windowStart = now;
    windowSteps = 0;
  }

  private String eta() {
    if (tc.timeBudgetSec() > 0) {
      return String.format(", %.0f s left", Math.max(0, tc.timeBudgetSec() - elapsedSec()));
    }
    double perStep = runSec() / Math.max(1, step - startStep);
    double left = perStep * (tc.steps() - step);
    return left >= 60
        ? String.format(", ETA %dm%02ds", (long) left / 60, (long) left % 60)
        : String.format(", ETA %.0fs", left);
  }

  private void save() {
    position.write(g.session, at);
    lastCheckpoint = Checkpoints.save(g.session, tc.outputDir(), step, tc.keepCheckpoints());
    lastSave = System.nanoTime();
    LOG.info("saved " + lastCheckpoint);
  }

  /** Each epoch has its own shuffle order, fixed by the run's seed. */
  private long epochSeed(long epoch) {
    return tc.seed() * 1_000_003L + epoch;
  }

  private static float scalar(Result r, int i) {
    return ((TFloat32) r.get(i)).getFloat();
  }

  /** Continues the elapsed-time axis of an interrupted run from its last logged record. */
  private static double lastElapsed(Path metricsFile, long step) {
    if (step == 0 || !Files.exists(metricsFile)) {
      return 0;
    }
    double elapsed = 0;
    for (MetricsLog.Entry e : MetricsLog.read(metricsFile)) {
      if (e.step() <= step) {
        elapsed = e.elapsedSec();
      }
    }
    return elapsed;
  }
}
