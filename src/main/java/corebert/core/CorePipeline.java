package corebert.core;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.surgery.Surgery;
import corebert.train.Checkpoints;
import corebert.train.Cluster;
import corebert.train.Evaluator;
import corebert.train.RunDir;
import corebert.train.TrainConfig;
import corebert.train.Trainer;
import corebert.train.TrainingOutcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.logging.Logger;

/**
 * CoRe end to end in one output directory: phase 1 trains the relaxed BERT in {@code relaxed/},
 * surgery writes the full BERT into {@code full/}, phase 2 retrains it there with its own short
 * warm-up. Both phases log to the directory's one {@code metrics.jsonl}, on one step and
 * elapsed-time axis. A rerun resumes whichever phase was interrupted and never redoes a finished
 * one: {@code full/surgery.json}, written after the converted checkpoint is checked, means surgery
 * is done.
 */
public final class CorePipeline {
  private static final Logger LOG = Logger.getLogger(CorePipeline.class.getName());

  /**
   * How to split the run.
   *
   * @param relaxedSteps phase-1 steps (steps mode)
   * @param fullSteps phase-2 steps (steps mode)
   * @param relaxedFraction share of the time budget for phase 1 (budget mode)
   * @param relaxedLearningRate phase 1's peak learning rate (its warm-up is the run's)
   * @param fullLearningRate phase 2's peak learning rate
   * @param fullWarmupSteps phase 2's re-warm-up
   * @param jointSchedule phase 1's learning rate decays over the whole run instead of reaching 0 at
   *     the switch: phase 2, not phase 1, then anneals, and its re-warm-up does not undo an
   *     annealed phase 1
   * @param evalInputs held-out data to measure the loss before and after surgery and at the end
   * @param handover what softens the switch from linear to softmax attention
   */
  public record Plan(
      long relaxedSteps,
      long fullSteps,
      double relaxedFraction,
      double relaxedLearningRate,
      double fullLearningRate,
      long fullWarmupSteps,
      boolean jointSchedule,
      List<Path> evalInputs,
      Handover handover) {
    /** Phase 1's share of the run when none is given. */
    public static final double DEFAULT_RELAXED_FRACTION = 0.5;

    /** Phase 2's peak learning rate; see the README's CoRe results for the sweep behind it. */
    public static final double DEFAULT_FULL_LR = 2e-4;

    /** Phase 2's re-warm-up when none is given. */
    public static final long DEFAULT_FULL_WARMUP = 50;

    /**
     * A plan with the defaults: no step counts (a time budget), phase 1 {@link
     * #DEFAULT_RELAXED_FRACTION} of it at TrainConfig's default rate, phase 2 at {@link
     * #DEFAULT_FULL_LR} after {@link #DEFAULT_FULL_WARMUP} warm-up steps, the joint schedule, no
     * held-out data, the plain switch.
     */
    public static Builder builder() {
      return new Builder();
    }

    /** Builds a {@link Plan}; every setter names a component. */
    public static final class Builder {
      private long relaxedSteps;
      private long fullSteps;
      private double relaxedFraction = DEFAULT_RELAXED_FRACTION;
      private double relaxedLearningRate = TrainConfig.DEFAULT_LR;
      private double fullLearningRate = DEFAULT_FULL_LR;
      private long fullWarmupSteps = DEFAULT_FULL_WARMUP;
      private boolean jointSchedule = true;
      private List<Path> evalInputs = List.of();
      private Handover handover = Handover.PLAIN;

      private Builder() {}

      public Builder steps(long relaxed, long full) {
        relaxedSteps = relaxed;
        fullSteps = full;
        return this;
      }

      public Builder relaxedFraction(double v) {
        relaxedFraction = v;
        return this;
      }

      public Builder relaxedLearningRate(double v) {
        relaxedLearningRate = v;
        return this;
      }

      public Builder fullLearningRate(double v) {
        fullLearningRate = v;
        return this;
      }

      public Builder fullWarmupSteps(long v) {
        fullWarmupSteps = v;
        return this;
      }

      public Builder jointSchedule(boolean v) {
        jointSchedule = v;
        return this;
      }

      public Builder evalInputs(List<Path> v) {
        evalInputs = List.copyOf(v);
        return this;
      }

      public Builder handover(Handover v) {
        handover = v;
        return this;
      }

      public Plan build() {
        return new Plan(
            relaxedSteps,
            fullSteps,
            relaxedFraction,
            relaxedLearningRate,
            fullLearningRate,
            fullWarmupSteps,
            jointSchedule,
            evalInputs,
            handover);
      }
    }

    /** How much longer than phase 1 its learning rate takes to decay to 0. */
    double relaxedDecaySpan(boolean budget) {
      if (!jointSchedule) {
        return 1;
      }
      return budget ? 1 / relaxedFraction : (relaxedSteps + fullSteps) / (double) relaxedSteps;
    }
  }

  /**
   * Levers on the switch beyond the exact surgery, for a relaxed model with linear attention, whose
   * phase 1 lets the Q·K scale grow so that softmax right after surgery is too sharp.
   *
   * @param fitTemperature fit a softmax temperature per layer at surgery and fold it into the query
   *     kernels and biases
   * @param blendSteps phase 2 starts from linear attention's output and blends into softmax's over
   *     this many steps: (1 − m)·linear + m·softmax, m from 0 to 1; 0: softmax at once
   */
  public record Handover(boolean fitTemperature, long blendSteps) {
    /** Surgery alone: softmax attention from the first step of phase 2. */
    public static final Handover PLAIN = new Handover(false, 0);

    public Handover {
      if (blendSteps < 0) {
        throw new IllegalArgumentException("blend steps must be >= 0, got " + blendSteps);
      }
      if (fitTemperature && blendSteps > 0) {
        // The temperature is fitted for softmax alone; linear attention would see scaled queries.
        throw new IllegalArgumentException(
            "a fitted temperature and a blended start are alternatives: choose one");
      }
    }

    /**
     * The levers asked for, refused where they cannot apply: a blend needs a relaxed model with
     * linear attention to blend from.
     */
    public static Handover of(boolean fitTemperature, long blendSteps, boolean linearAttention) {
      if (blendSteps > 0 && !linearAttention) {
        throw new IllegalArgumentException(
            "a blended start mixes linear attention into softmax, but the relaxed model already"
                + " has softmax attention");
      }
      return new Handover(fitTemperature, blendSteps);
    }
  }

  /**
   * What a CoRe run did, for its final JSON line. Phase 2's end: step, loss, training seconds and
   * checkpoint. The switch, from surgery.json so that a resumed run reports it too: its step, the
   * FFN check, and per layer the Q·K norm and any fitted temperature (null: none fitted). With
   * held-out data, the evaluations around the switch and at the end. {@code surgerySec} and the
   * evaluations around the switch are null when this call resumed after surgery.
   */
  public record Summary(
      Double surgerySec,
      Evaluator.Metrics relaxedEval,
      Evaluator.Metrics convertedEval,
      Evaluator.Metrics convertedSoftmaxEval,
      Double switchJump,
      double phase2SetupSec,
      long step,
      double loss,
      double elapsedSec,
      Path checkpoint,
      long surgeryStep,
      double surgeryMaxFfnDiff,
      List<Double> qkNormPerLayer,
      List<Double> temperaturePerLayer,
      Evaluator.Metrics finalEval) {}

  /** What the switch did, measured once surgery is done. */
  private record Switch(
      double surgerySec,
      Evaluator.Metrics before,
      Evaluator.Metrics after,
      Evaluator.Metrics afterSoftmax,
      Double jump) {}

  /** Training batches the temperature is fitted on. */
  private static final int TEMPERATURE_FIT_BATCHES = 16;

  /** What the chief broadcasts when phase 2 has not begun. */
  private static final long NO_PHASE_2 = -1;

  private CorePipeline() {}

  /** Runs (or resumes) the pipeline. */
  public static Summary run(BertConfig cfg, TrainConfig tc, Plan plan) {
    cfg.requireRelaxed();
    Path fullDir = tc.outputDir().resolve(RunDir.CORE_FULL);
    boolean blending = plan.handover().blendSteps() > 0;

    Optional<Switch> done = Optional.empty();
    boolean resumingPhase2 = surgeryDone(fullDir);
    // The other tasks of a collective cluster follow the chief's phase, without its files.
    tc.parallel()
        .cluster()
        .filter(Cluster::collective)
        .ifPresent(
            c -> c.fromChief(resumingPhase2 ? Surgery.readReport(fullDir).step() : NO_PHASE_2));
    if (resumingPhase2) {
      LOG.info("CoRe: surgery already done; resuming phase 2 in " + fullDir);
    } else {
      done = Optional.of(relaxedThenSurgery(cfg, tc, plan));
    }
    // Phase 2's schedule starts where surgery left the step, also when resuming phase 2.
    Surgery.Report surgery = Surgery.readReport(fullDir);
    long phase2Start = surgery.step();
    LOG.info("CoRe phase 2: full BERT from step " + phase2Start);
    TrainingOutcome full = Trainer.train(cfg, fullPhase(tc, plan, phase2Start));
    Evaluator.Metrics finalEval = null;
    if (!plan.evalInputs().isEmpty()) {
      double m =
          blending
              ? Math.min(1, (full.step() - phase2Start) / (double) plan.handover().blendSteps())
              : 1;
      finalEval = eval(cfg, full.checkpoint(), plan, tc, m);
    }
    return new Summary(
        done.map(Switch::surgerySec).orElse(null),
        done.map(Switch::before).orElse(null),
        done.map(Switch::after).orElse(null),
        done.map(Switch::afterSoftmax).orElse(null),
        done.map(Switch::jump).orElse(null),
        // With surgery, the switch's cost on top of training time: benchmarks add it back.
        full.setupSec(),
        full.step(),
        full.loss(),
        full.elapsedSec(),
        full.checkpoint(),
        surgery.step(),
        surgery.maxFfnDifference(),
        surgery.qkNorms(),
        surgery.temperatures().isEmpty() ? null : surgery.temperatures(),
        finalEval);
  }

  /**
   * Whether surgery finished: surgery.json is written last, so a checkpoint in full/ without it is
   * a surgery cut short, cleared here to be redone.
   */
  private static boolean surgeryDone(Path fullDir) {
    if (Files.exists(fullDir.resolve(RunDir.SURGERY_REPORT))) {
      return true;
    }
    if (Files.exists(fullDir)) {
      LOG.info("CoRe: " + fullDir + " holds an unfinished surgery; redoing it");
      try {
        Checkpoints.deleteRecursively(fullDir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot clear " + fullDir + ": " + e.getMessage(), e);
      }
    }
    return false;
  }

  /**
   * Phase 1 and surgery; with held-out data, the evaluations either side of the switch and the
   * masked loss's jump, what the switch costs in what the model knows from context.
   */
  private static Switch relaxedThenSurgery(BertConfig cfg, TrainConfig tc, Plan plan) {
    LOG.info("CoRe phase 1: relaxed BERT");
    TrainingOutcome relaxed = Trainer.train(cfg, relaxedPhase(tc, plan));
    LOG.info("CoRe surgery: relaxed -> full at step " + relaxed.step());
    long surgeryStart = System.nanoTime();
    Optional<Surgery.TemperatureFit> fit =
        plan.handover().fitTemperature()
            ? Optional.of(
                new Surgery.TemperatureFit(tc.inputs(), tc.batchSize(), TEMPERATURE_FIT_BATCHES))
            : Optional.empty();
    Surgery.Report converted =
        Surgery.convert(cfg, relaxed.checkpoint(), tc.outputDir().resolve(RunDir.CORE_FULL), fit);
    // Not on the metrics' elapsed axis (that counts training only); benchmarks add it back.
    double surgerySec = (System.nanoTime() - surgeryStart) / 1e9;
    if (plan.evalInputs().isEmpty()) {
      return new Switch(surgerySec, null, null, null, null);
    }
    boolean blending = plan.handover().blendSteps() > 0;
    Evaluator.Metrics before = eval(cfg, Variant.RELAXED, relaxed.checkpoint(), plan, tc);
    // Phase 2 starts from the converted model as it computes at its first step: with a blended
    // start, at softmax share 0.
    Evaluator.Metrics after = eval(cfg, converted.checkpoint(), plan, tc, blending ? 0 : 1);
    return new Switch(
        surgerySec,
        before,
        after,
        blending ? eval(cfg, converted.checkpoint(), plan, tc, 1) : null,
        after.mlmLossMasked() - before.mlmLossMasked());
  }

  /**
   * A collective cluster's other task: both phases in step with the chief, which alone does
   * surgery, evaluates and writes. Phase 2's schedule starts at phase 1's last step; when the chief
   * resumes phase 2 instead, at the step in the chief's {@code surgery.json}, which the chief
   * broadcasts first, so no task needs the chief's files. Returns phase 2's outcome.
   */
  public static TrainingOutcome followChief(BertConfig cfg, TrainConfig tc, Plan plan) {
    cfg.requireRelaxed();
    long chiefsPhase2Start = tc.parallel().cluster().orElseThrow().fromChief(NO_PHASE_2);
    if (chiefsPhase2Start != NO_PHASE_2) {
      LOG.info("CoRe: the chief resumes phase 2, which began at step " + chiefsPhase2Start);
    }
    long phase2Start =
        chiefsPhase2Start != NO_PHASE_2
            ? chiefsPhase2Start
            : Trainer.train(cfg, relaxedPhase(tc, plan)).step();
    return Trainer.train(cfg, fullPhase(tc, plan, phase2Start));
  }

  /** Phase 1: the relaxed model in relaxed/, for its steps or its share of the budget. */
  private static TrainConfig relaxedPhase(TrainConfig tc, Plan plan) {
    boolean budget = tc.timeBudgetSec() > 0;
    return phase(tc, Variant.RELAXED, tc.outputDir().resolve(RunDir.CORE_RELAXED))
        .steps(plan.relaxedSteps())
        .timeBudgetSec(budget ? tc.timeBudgetSec() * plan.relaxedFraction() : 0)
        .learningRate(plan.relaxedLearningRate())
        .decaySpan(plan.relaxedDecaySpan(budget))
        .build();
  }

  /** Phase 2: the full model in full/, its schedule starting at surgery's step. */
  private static TrainConfig fullPhase(TrainConfig tc, Plan plan, long phase2Start) {
    return phase(tc, Variant.FULL, tc.outputDir().resolve(RunDir.CORE_FULL))
        .steps(tc.timeBudgetSec() > 0 ? 0 : phase2Start + plan.fullSteps())
        .scheduleStart(phase2Start)
        .learningRate(plan.fullLearningRate())
        .warmupSteps(plan.fullWarmupSteps())
        .blendSteps(plan.handover().blendSteps())
        .build();
  }

  /**
   * A phase of the CoRe run {@code tc}: its own model and checkpoint directory, metrics in the
   * run's directory, starting from nothing (phase 2 restores surgery's checkpoint by resuming from
   * it).
   */
  private static TrainConfig.Builder phase(TrainConfig tc, Variant variant, Path dir) {
    return tc.toBuilder()
        .variant(variant)
        .outputDir(dir)
        .metricsDir(tc.outputDir())
        .initCheckpoint(Optional.empty());
  }

  private static Evaluator.Metrics eval(
      BertConfig cfg, Variant variant, Path checkpoint, Plan plan, TrainConfig tc) {
    return eval(cfg, variant, checkpoint, plan, tc, OptionalDouble.empty());
  }

  /** The full model's metrics, its attention blended with softmax share {@code m} when m < 1. */
  private static Evaluator.Metrics eval(
      BertConfig cfg, Path checkpoint, Plan plan, TrainConfig tc, double m) {
    return eval(
        cfg,
        Variant.FULL,
        checkpoint,
        plan,
        tc,
        m < 1 ? OptionalDouble.of(m) : OptionalDouble.empty());
  }

  private static Evaluator.Metrics eval(
      BertConfig cfg,
      Variant variant,
      Path checkpoint,
      Plan plan,
      TrainConfig tc,
      OptionalDouble softmaxShare) {
    Evaluator.Metrics m =
        Evaluator.evaluate(
            cfg,
            variant,
            checkpoint,
            Evaluator.HeldOut.of(plan.evalInputs(), tc.inputs()),
            tc.batchSize(),
            softmaxShare);
    String blend =
        softmaxShare.isPresent() ? " (softmax share " + softmaxShare.getAsDouble() + ")" : "";
    LOG.info(variant.name().toLowerCase() + " " + checkpoint.getFileName() + blend + ": " + m);
    return m;
  }
}
