package corebert.bench;

import corebert.bench.CoreVsBaseline.BaselineSetting;
import corebert.bench.CoreVsBaseline.CoreSetting;
import corebert.bench.CoreVsBaseline.Settings;
import corebert.bench.FairProtocol.Run;
import corebert.core.CorePipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import corebert.train.HeldOutCurve;
import corebert.train.HeldOutCurve.Point;
import corebert.train.RunDir;
import corebert.train.TrainConfig;
import corebert.train.Trainer;
import corebert.train.TrainingOutcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * One benchmark run, trained or reused: a from-scratch baseline or a CoRe setting for a wall-clock
 * budget, checkpointed every {@code evalEverySec} seconds and then evaluated checkpoint by
 * checkpoint on the held-out data, which gives the masked loss against training seconds without
 * spending training time on it. A run stored under an equal {@link RunKey} is not trained again.
 */
final class BenchRunner {
  private static final Logger LOG = Logger.getLogger(BenchRunner.class.getName());

  private static final int EVAL_BATCH = 32;

  private BenchRunner() {}

  /**
   * A finished run: its key and stored result, its model config, and its final checkpoint where
   * this machine has it (a run reused from the store on a fresh machine has none).
   */
  record Done(RunKey key, RunResult result, BertConfig cfg, Optional<Path> checkpoint) {
    Run run() {
      return new Run(result.setting(), result.seed(), result.curve());
    }
  }

  /**
   * One run of the benchmark before anything trains: its stored result where the store has one, and
   * how to train and store it otherwise.
   */
  record Planned(Optional<Done> stored, Supplier<Done> train) {
    /** The stored run, or the run trained and stored now. */
    Done get() {
      return stored.orElseGet(train);
    }
  }

  /** A from-scratch full BERT: found in the store, or to train. */
  static Planned baseline(Settings s, BaselineSetting b, long seed, double budget) {
    RunKey key =
        key(
            s,
            b.name(),
            seed,
            budget,
            b.warmupSteps() == null ? s.warmupSteps() : b.warmupSteps(),
            b.batchSize() == null ? s.batchSize() : b.batchSize(),
            null);
    return new Planned(
        s.store().find(key.name(), key, RunResult.class).map(r -> reused(s, key, r, s.cfg())),
        () -> stored(s, trainBaseline(s, key, b.learningRate())));
  }

  private static Done trainBaseline(Settings s, RunKey key, double lr) {
    Path dir = fresh(s.workDir().resolve(key.name()));
    LOG.info(key.name() + ": full BERT from scratch for " + key.budgetSec() + " s");
    String started = Instant.now().toString();
    long t0 = System.nanoTime();
    TrainingOutcome o =
        Trainer.train(s.cfg(), trainConfig(s, key, Variant.FULL, dir, lr, key.budgetSec()));
    double wall = (System.nanoTime() - t0) / 1e9;
    List<Point> curve = curve(s, s.cfg(), Variant.FULL, dir, dir, "full", 0);
    return finish(
        key,
        RunResult.baseline(
            key.setting(), key.seed(), started, o.step(), wall, machine(s), lr, curve),
        s.cfg(),
        dir);
  }

  /** One CoRe setting: found in the store, or to train. */
  static Planned core(Settings s, CoreSetting c, long seed, double baselineBudget) {
    RunKey key = key(s, c.name(), seed, baselineBudget, s.warmupSteps(), s.batchSize(), c);
    return new Planned(
        s.store()
            .find(key.name(), key, RunResult.class)
            .map(r -> reused(s, key, r, c.config(s.cfg()))),
        () -> stored(s, trainCore(s, key, c)));
  }

  private static Done trainCore(Settings s, RunKey key, CoreSetting c) {
    Path dir = fresh(s.workDir().resolve(key.name()));
    BertConfig cfg = c.config(s.cfg());
    double budget = key.budgetSec() * c.budgetFraction();
    LOG.info(
        String.format(
            Locale.ROOT,
            "%s: CoRe for %.0f s, %.2f relaxed (FFN rank %d, attention rank %d, peak lr %.1e),"
                + " then full BERT at peak lr %.1e",
            key.name(),
            budget,
            c.fraction(),
            c.ffnRank(),
            c.attentionRank(),
            c.relaxedLr(),
            c.fullLr()));
    String started = Instant.now().toString();
    long t0 = System.nanoTime();
    CorePipeline.Summary summary =
        CorePipeline.run(
            cfg,
            trainConfig(s, key, Variant.RELAXED, dir, c.relaxedLr(), budget),
            CorePipeline.Plan.builder()
                .relaxedFraction(c.fraction())
                .relaxedLearningRate(c.relaxedLr())
                .fullLearningRate(c.fullLr())
                .fullWarmupSteps(s.fullWarmupSteps())
                .jointSchedule(c.jointSchedule())
                .handover(c.handover())
                .build());
    double wall = (System.nanoTime() - t0) / 1e9;
    // The switch costs surgery plus phase 2's graph and restore; CoRe's clock counts both.
    double surgerySec = summary.surgerySec();
    double switchSec = surgerySec + summary.phase2SetupSec();
    Path fullDir = dir.resolve(RunDir.CORE_FULL);
    List<Point> curve = new ArrayList<>();
    curve.addAll(
        curve(s, cfg, Variant.RELAXED, dir.resolve(RunDir.CORE_RELAXED), dir, "relaxed", 0));
    curve.addAll(curve(s, cfg, Variant.FULL, fullDir, dir, "full", switchSec));
    RunResult result =
        new RunResult(
            key.setting(),
            key.seed(),
            started,
            summary.step(),
            wall,
            machine(s),
            null,
            c,
            summary.surgeryStep(),
            surgerySec,
            switchSec,
            switchJump(curve, summary.surgeryStep()),
            summary.qkNormPerLayer(),
            curve);
    return finish(key, result, cfg, fullDir);
  }

  /**
   * The masked held-out loss of the converted checkpoint minus the relaxed one it came from, both
   * at the surgery step; null if either was not kept.
   */
  static Double switchJump(List<Point> curve, long surgeryStep) {
    Optional<Point> before =
        curve.stream()
            .filter(p -> p.phase().equals("relaxed") && p.step() == surgeryStep)
            .findFirst();
    Optional<Point> after =
        curve.stream().filter(p -> p.phase().equals("full") && p.step() == surgeryStep).findFirst();
    return before.isPresent() && after.isPresent()
        ? after.get().loss() - before.get().loss()
        : null;
  }

  /** Everything that makes two runs of one setting and seed the same measurement. */
  private static RunKey key(
      Settings s,
      String setting,
      long seed,
      double budget,
      long warmupSteps,
      int batchSize,
      CoreSetting coreOrNull) {
    boolean full = coreOrNull == null;
    return new RunKey(
        setting,
        seed,
        budget,
        s.evalEverySec(),
        RunKey.METRIC,
        batchSize,
        warmupSteps,
        full ? null : s.fullWarmupSteps(),
        s.precision().name(),
        s.train().stream().map(Path::toString).toList(),
        s.eval().stream().map(Path::toString).toList(),
        RunKey.model(full ? s.cfg() : coreOrNull.config(s.cfg()), full));
  }

  /**
   * Stops when any of {@code stored} trained on another kind of machine than this one (with
   * --mixed-machines only warns): what trains here for {@code what} would not compare with it,
   * since a wall-clock budget buys another number of steps there.
   */
  static void requireTrainedHere(Settings s, String what, List<Done> stored) {
    Machine.Facts here = machine(s);
    List<String> elsewhere =
        stored.stream()
            .filter(d -> !here.sameKind(d.result().machine()))
            .map(
                d ->
                    d.key().name()
                        + " ("
                        + Optional.ofNullable(d.result().machine())
                            .map(Machine.Facts::describe)
                            .orElse("machine not recorded")
                        + ")")
            .toList();
    if (elsewhere.isEmpty()) {
      return;
    }
    String why =
        what
            + " on this machine ("
            + here.describe()
            + "), not the kind these stored runs it is compared with trained on: "
            + String.join("; ", elsewhere)
            + ". Wall-clock budgets compare only on one kind of machine: go on where those runs"
            + " trained, take their entries out of "
            + s.runStore()
            + " to train them again here, or pass --mixed-machines";
    if (!s.mixedMachines()) {
      throw new IllegalStateException(why);
    }
    LOG.warning(why + " (given; the report calls the protocol unfair)");
  }

  /** This machine, where a run trains now. */
  static Machine.Facts machine(Settings s) {
    return Machine.facts(false, s.precision());
  }

  /** A stored run, with its final checkpoint if this machine's scratch directory still has it. */
  private static Done reused(Settings s, RunKey key, RunResult result, BertConfig cfg) {
    Path dir = s.workDir().resolve(key.name());
    Path checkpoints = result.core() == null ? dir : dir.resolve(RunDir.CORE_FULL);
    return new Done(key, result, cfg, Checkpoints.latest(checkpoints));
  }

  private static Done stored(Settings s, Done d) {
    s.store().put(d.key().name(), d.key(), d.result());
    return d;
  }

  /** Keeps only a trained run's final checkpoint (disk) and logs its final figures. */
  private static Done finish(RunKey key, RunResult result, BertConfig cfg, Path checkpoints) {
    Checkpoints.keepNewest(checkpoints, 1);
    LOG.info(
        String.format(
            Locale.ROOT,
            "%s: final held-out MLM loss (scored tokens masked) %.4f, accuracy %.4f",
            key.name(),
            result.last().loss(),
            result.last().accuracy()));
    return new Done(key, result, cfg, Checkpoints.latest(checkpoints));
  }

  /**
   * {@code d}'s final checkpoint; a run reused from the store on a machine without it is trained
   * again with its recorded settings (its wall-clock budget makes the copy close, not equal).
   */
  static Done withCheckpoint(Settings s, Done d) {
    if (d.checkpoint().isPresent()) {
      return d;
    }
    requireTrainedHere(s, d.key().name() + ": its final checkpoint is to be re-made", List.of(d));
    LOG.warning(
        d.key().name()
            + ": its final checkpoint is not in "
            + s.workDir()
            + "; training it again from its stored settings for fine-tuning");
    Done again =
        d.result().core() == null
            ? trainBaseline(s, d.key(), d.result().learningRate())
            : trainCore(s, d.key(), d.result().core());
    LOG.info(
        String.format(
            Locale.ROOT,
            "%s re-made: final masked loss %.4f (stored run: %.4f)",
            d.key().name(),
            again.result().last().loss(),
            d.result().last().loss()));
    return again;
  }

  /** The run {@code key} for {@code budgetSec} seconds (CoRe's share of its key's budget). */
  private static TrainConfig trainConfig(
      Settings s, RunKey key, Variant variant, Path dir, double lr, double budgetSec) {
    // Checkpoints every evalEverySec seconds only, all kept: each is a point of the curve.
    return TrainConfig.builder(variant, s.train(), dir)
        .timeBudgetSec(budgetSec)
        .batchSize(key.batchSize())
        .learningRate(lr)
        .warmupSteps(key.warmupSteps())
        .saveEvery(Integer.MAX_VALUE)
        .saveEverySec(s.evalEverySec())
        .logEvery(50)
        .keepCheckpoints(Integer.MAX_VALUE)
        .seed(key.seed())
        .precision(s.precision())
        .build();
  }

  /** The held-out curve of one phase's checkpoints, on the benchmark's held-out data. */
  private static List<Point> curve(
      Settings s,
      BertConfig cfg,
      Variant variant,
      Path ckptDir,
      Path metricsDir,
      String phase,
      double extraSec) {
    return HeldOutCurve.evaluate(
        cfg,
        variant,
        ckptDir,
        metricsDir,
        phase,
        extraSec,
        Evaluator.HeldOut.of(s.eval(), s.train()),
        EVAL_BATCH);
  }

  /** A run starts from nothing: its scratch directory is emptied first. */
  static Path fresh(Path dir) {
    try {
      Checkpoints.deleteRecursively(dir);
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + dir, e);
    }
    return dir;
  }
}
