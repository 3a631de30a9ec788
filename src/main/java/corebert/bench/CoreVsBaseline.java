package corebert.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import corebert.bench.FairProtocol.Run;
import corebert.bench.FairProtocol.SettingResult;
import corebert.core.CorePipeline;
import corebert.glue.FineTuner;
import corebert.glue.GlueExample;
import corebert.glue.GlueTask;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import corebert.train.HeldOutCurve;
import corebert.train.HeldOutCurve.Point;
import corebert.train.RunDir;
import corebert.train.TrainConfig;
import corebert.train.Trainer;
import corebert.train.TrainingOutcome;
import corebert.util.Chart;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * `bench core-vs-baseline`: CoRe against from-scratch BERTs under a fair protocol. The baseline
 * gets a learning-rate sweep, CoRe gets no more settings than the baseline has learning rates, and
 * every setting runs with every seed, with the same data, batch, warm-up and wall-clock budget.
 * Runs go seed by seed, baselines and CoRe interleaved, so that drift in the machine's speed falls
 * on both sides. Each run checkpoints every {@code evalEverySec} seconds of training; every
 * checkpoint is then evaluated on held-out data, which gives held-out MLM loss against wall-clock
 * seconds without spending training time on it. {@link FairProtocol} judges the curves. The best
 * final models of both sides are fine-tuned on each downstream task.
 *
 * <p>Every finished run and fine-tuning goes into a {@link RunStore} (JSON meant to be committed)
 * under a {@link RunKey} of all its settings. A later benchmark reuses what it finds under an equal
 * key, so an interrupted benchmark continues where it stopped, on this machine or a fresh one, and
 * two budgets share their runs. Checkpoints stay in the scratch directory; fine-tuning a stored run
 * whose checkpoint is gone trains it again.
 */
public final class CoreVsBaseline {
  private static final Logger LOG = Logger.getLogger(CoreVsBaseline.class.getName());
  private static final int EVAL_BATCH = 32;

  /** A fine-tuning task; each side is fine-tuned at every lr in {@code lrs} and keeps its best. */
  public record Finetune(
      String name, Path dataDir, Path vocab, int epochs, List<Double> lrs, int seq) {
    public Finetune {
      lrs = List.copyOf(lrs);
    }
  }

  /**
   * One from-scratch baseline setting: its peak learning rate, and its own warm-up steps and batch
   * size where they differ from the benchmark's (null: the benchmark's). A setting with neither
   * keeps the name it had when only the learning rate was swept.
   */
  public record BaselineSetting(double learningRate, Long warmupSteps, Integer batchSize) {
    public BaselineSetting {
      if (!(learningRate > 0)
          || (warmupSteps != null && warmupSteps < 0)
          || (batchSize != null && batchSize < 1)) {
        throw new IllegalArgumentException(
            "a baseline needs a learning rate > 0, warm-up steps >= 0 and a batch size >= 1");
      }
    }

    /** At the benchmark's warm-up and batch. */
    public static BaselineSetting atRate(double learningRate) {
      return new BaselineSetting(learningRate, null, null);
    }

    String name() {
      return String.format(
          Locale.ROOT,
          "baseline-lr%.0e%s%s",
          learningRate,
          warmupSteps == null ? "" : "-w" + warmupSteps,
          batchSize == null ? "" : "-b" + batchSize);
    }
  }

  /**
   * One CoRe setting: its budget as a share of the baselines', phase 1's share of that, the relaxed
   * ranks, both phases' peak learning rates, and the switch's levers: softmax attention kept in
   * phase 1, phase 1's bound on the Q·K scale (0: none), a temperature fitted at surgery, and phase
   * 2's blended start (its steps; 0: none). A shorter budget lets CoRe's learning rate anneal
   * sooner; the target is the same.
   */
  public record CoreSetting(
      double budgetFraction,
      @JsonProperty("relaxed_fraction") double fraction,
      int ffnRank,
      int attentionRank,
      @JsonProperty("relaxed_learning_rate") double relaxedLr,
      @JsonProperty("full_learning_rate") double fullLr,
      boolean jointSchedule,
      @JsonProperty("softmax_attention") boolean softmax,
      double qkBound,
      boolean fitTemperature,
      long blendSteps) {
    /** The run's name; the levers appear only when set, so earlier names still match. */
    String name() {
      return String.format(
          Locale.ROOT,
          "core-b%.2f-f%.2f-r%d-a%d-lr%.0e-%.0e%s%s%s%s%s",
          budgetFraction,
          fraction,
          ffnRank,
          attentionRank,
          relaxedLr,
          fullLr,
          jointSchedule ? "-joint" : "",
          softmax ? "-softmax" : "",
          qkBound > 0 ? String.format(Locale.ROOT, "-qk%g", qkBound) : "",
          fitTemperature ? "-tau" : "",
          blendSteps > 0 ? "-blend" + blendSteps : "");
    }

    CorePipeline.Handover handover() {
      return new CorePipeline.Handover(fitTemperature, blendSteps);
    }

    BertConfig config(BertConfig base) {
      return base.withRelaxed(
          new BertConfig.Relaxed(
              softmax ? BertConfig.Relaxed.SOFTMAX : BertConfig.Relaxed.LINEAR_ELU,
              ffnRank,
              attentionRank,
              qkBound));
    }
  }

  /** Everything one benchmark needs. */
  public record Settings(
      BertConfig cfg,
      Path configFile,
      List<Path> train,
      List<Path> eval,
      double budgetSec,
      double sweepBudgetSec,
      int sweepSeeds,
      double evalEverySec,
      List<BaselineSetting> baselines,
      List<CoreSetting> coreSettings,
      int priorBaselineTuningRuns,
      int priorCoreTuningRuns,
      List<Long> seeds,
      int batchSize,
      long warmupSteps,
      long fullWarmupSteps,
      Precision precision,
      Path workDir,
      Path runStore,
      Path prefix,
      List<Finetune> finetunes,
      int finetuneSeeds,
      String command) {

    RunStore store() {
      return new RunStore(runStore);
    }

    /** Each side's tuning runs: its settings here plus the exploration runs it had before. */
    int baselineTuningRuns() {
      return baselines.size() + priorBaselineTuningRuns;
    }

    int coreTuningRuns() {
      return coreSettings.size() + priorCoreTuningRuns;
    }

    /** Whether this is the protocol DESIGN.md calls fair, and if not, why. */
    Optional<String> unfairness() {
      List<String> why = new ArrayList<>();
      if (baselines.stream().mapToDouble(BaselineSetting::learningRate).distinct().count() < 3) {
        why.add("the baseline has fewer than 3 learning rates");
      }
      if (coreTuningRuns() > baselineTuningRuns()) {
        why.add("CoRe has more tuning runs than the baseline");
      }
      if (seeds.size() < 2) {
        why.add("fewer than 2 seeds");
      }
      return why.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", why));
    }
  }

  /**
   * A finished run: its key and stored result, its model config, and its final checkpoint where
   * this machine has it (a run reused from the store on a fresh machine has none).
   */
  private record Done(RunKey key, RunResult result, BertConfig cfg, Optional<Path> checkpoint) {
    Run run() {
      return new Run(result.setting(), result.seed(), result.curve());
    }
  }

  private CoreVsBaseline() {}

  /** One stage of the protocol: runs at one budget, and their verdict. */
  private record Stage(
      String name,
      double budgetSec,
      List<Long> seeds,
      List<Done> baselines,
      List<Done> cores,
      FairProtocol.Verdict verdict) {}

  public static Map<String, Object> run(Settings s) {
    s.cfg().requireRelaxed();
    s.unfairness().ifPresent(why -> LOG.warning("not the fair protocol: " + why));
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("command", s.command());
    out.put("config", s.configFile().toString());
    out.put("machine", Machine.facts(false, s.precision()));
    out.put("protocol", protocol(s));
    // The plateau a model that uses no context sits on: the masked loss means something below it.
    Evaluator.Unigram unigram =
        Evaluator.unigram(Evaluator.HeldOut.of(s.eval(), s.train()), s.cfg().vocabSize());
    out.put("unigram_loss", unigram.loss());
    out.put("unigram_accuracy", unigram.accuracy());
    List<BaselineSetting> baselines = s.baselines();
    List<CoreSetting> settings = s.coreSettings();
    if (s.sweepBudgetSec() > 0) {
      // Tuning at a shorter budget; the best of each side then runs with every seed.
      Stage sweep =
          stage(
              s,
              "sweep",
              s.sweepBudgetSec(),
              baselines,
              settings,
              s.seeds().subList(0, s.sweepSeeds()));
      out.put("sweep", stageJson(sweep));
      chart(s, sweep, unigram, Path.of(s.prefix() + "-sweep.png"));
      baselines = List.of(baseline(s, sweep.verdict().bestBaseline().setting()));
      settings = List.of(setting(s, sweep.verdict().bestCore().setting()));
    }
    Stage fin = stage(s, "final", s.budgetSec(), baselines, settings, s.seeds());
    FairProtocol.Verdict v = fin.verdict();
    Double speedup = v.speedup().orElse(null);
    // The headline: the best CoRe setting's speedup over the best baseline, for every seed.
    out.put("speedup", speedup);
    out.put("speedup_per_seed", bySeed(v.bestCore().speedup()));
    out.put("speedup_mean", speedup == null ? null : mean(v.bestCore().speedup()));
    out.putAll(stageJson(fin));
    if (!s.finetunes().isEmpty()) {
      out.put("finetune", finetune(s, fin));
    }
    Results.write(s.prefix(), out);
    chart(s, fin, unigram, Path.of(s.prefix() + ".png"));
    LOG.info(
        "best baseline "
            + v.bestBaseline().setting()
            + " (final "
            + v.targets()
            + "); best CoRe "
            + v.bestCore().setting()
            + ": speedup "
            + v.bestCore().speedup());
    return out;
  }

  /** Every setting with every seed at one budget, seed by seed, then judged. */
  private static Stage stage(
      Settings s,
      String name,
      double budget,
      List<BaselineSetting> baselineSettings,
      List<CoreSetting> settings,
      List<Long> seeds) {
    LOG.info(
        name
            + ": "
            + baselineSettings.size()
            + " baseline and "
            + settings.size()
            + " CoRe setting(s), seeds "
            + seeds
            + ", "
            + budget
            + " s each");
    List<Done> baselines = new ArrayList<>();
    List<Done> cores = new ArrayList<>();
    for (long seed : seeds) {
      for (BaselineSetting b : baselineSettings) {
        baselines.add(baseline(s, b, seed, budget));
      }
      for (CoreSetting c : settings) {
        cores.add(core(s, c, seed, budget));
      }
    }
    FairProtocol.Verdict v =
        FairProtocol.judge(
            baselines.stream().map(Done::run).toList(),
            cores.stream().map(Done::run).toList(),
            seeds);
    return new Stage(name, budget, seeds, baselines, cores, v);
  }

  private static Map<String, Object> stageJson(Stage st) {
    FairProtocol.Verdict v = st.verdict();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("budget_sec_per_run", st.budgetSec());
    m.put("seeds", st.seeds());
    m.put("speedup", v.speedup().orElse(null));
    m.put("targets", bySeed(v.targets()));
    m.put("best_baseline", best(v.bestBaseline(), st.baselines()));
    m.put("best_core", best(v.bestCore(), st.cores()));
    m.put("baseline_runs", runsJson(st.baselines(), v.baselines()));
    m.put("core_runs", runsJson(st.cores(), v.cores()));
    return m;
  }

  private static BaselineSetting baseline(Settings s, String name) {
    return s.baselines().stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow();
  }

  private static CoreSetting setting(Settings s, String name) {
    return s.coreSettings().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
  }

  private static Map<String, Object> protocol(Settings s) {
    Map<String, Object> p = new LinkedHashMap<>();
    // Exploration runs count as tuning: each side's count includes what it had before.
    p.put("baseline_tuning_runs", s.baselineTuningRuns());
    p.put("core_tuning_runs", s.coreTuningRuns());
    p.put("baseline_tuning_runs_before", s.priorBaselineTuningRuns());
    p.put("core_tuning_runs_before", s.priorCoreTuningRuns());
    p.put("seeds", s.seeds());
    p.put("budget_sec_per_run", s.budgetSec());
    if (s.sweepBudgetSec() > 0) {
      p.put("sweep_budget_sec_per_run", s.sweepBudgetSec());
      p.put("sweep_seeds", s.seeds().subList(0, s.sweepSeeds()));
    }
    p.put("eval_every_sec", s.evalEverySec());
    p.put("batch_size", s.batchSize());
    p.put("warmup_steps", s.warmupSteps());
    p.put("full_warmup_steps", s.fullWarmupSteps());
    p.put("precision", s.precision().name().toLowerCase(Locale.ROOT));
    p.put("dropout", s.cfg().hiddenDropoutProb());
    p.put("fair", s.unfairness().isEmpty());
    s.unfairness().ifPresent(why -> p.put("unfair_because", why));
    p.put(
        "selection",
        "best baseline: lowest final held-out MLM loss with every scored token masked, averaged"
            + " over seeds; target per seed: its"
            + " final loss; speedup per seed: its time to the target / CoRe's (full-BERT points,"
            + " surgery included); a CoRe setting counts with its lowest speedup over the seeds;"
            + " best CoRe: the highest such speedup");
    return p;
  }

  /** A from-scratch full BERT: reused from the store, or trained and stored. */
  private static Done baseline(Settings s, BaselineSetting b, long seed, double budget) {
    RunKey key =
        key(
            s,
            b.name(),
            seed,
            budget,
            b.warmupSteps() == null ? s.warmupSteps() : b.warmupSteps(),
            b.batchSize() == null ? s.batchSize() : b.batchSize(),
            null);
    return s.store()
        .find(key.name(), key, RunResult.class)
        .map(r -> reused(s, key, r, s.cfg()))
        .orElseGet(() -> stored(s, trainBaseline(s, key, b.learningRate())));
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
        new RunResult(
            key.setting(),
            key.seed(),
            started,
            o.step(),
            wall,
            lr,
            null,
            null,
            null,
            null,
            null,
            null,
            curve),
        s.cfg(),
        dir);
  }

  /** One CoRe setting: reused from the store, or trained and stored. */
  private static Done core(Settings s, CoreSetting c, long seed, double baselineBudget) {
    RunKey key = key(s, c.name(), seed, baselineBudget, s.warmupSteps(), s.batchSize(), c);
    BertConfig cfg = c.config(s.cfg());
    return s.store()
        .find(key.name(), key, RunResult.class)
        .map(r -> reused(s, key, r, cfg))
        .orElseGet(() -> stored(s, trainCore(s, key, c)));
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
            new CorePipeline.Plan(
                0,
                0,
                c.fraction(),
                c.relaxedLr(),
                c.fullLr(),
                s.fullWarmupSteps(),
                c.jointSchedule(),
                List.of(),
                c.handover()));
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
  private static Done withCheckpoint(Settings s, Done d) {
    if (d.checkpoint().isPresent()) {
      return d;
    }
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

  /** The best setting: its name, settings, mean final loss and per-seed figures. */
  private static Map<String, Object> best(SettingResult r, List<Done> runs) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("setting", r.setting());
    Done first =
        runs.stream().filter(d -> d.run().setting().equals(r.setting())).findFirst().orElseThrow();
    summary(first.result())
        .forEach(
            (k, v) -> {
              if (k.endsWith("learning_rate") || k.endsWith("_rank") || k.endsWith("_fraction")) {
                m.put(k, v);
              }
            });
    m.put("mean_final_mlm_loss_masked", r.meanFinalLoss());
    Map<String, Object> finals = new LinkedHashMap<>();
    Map<String, Object> accuracies = new LinkedHashMap<>();
    for (Run run : r.runs()) {
      finals.put(String.valueOf(run.seed()), run.last().loss());
      accuracies.put(String.valueOf(run.seed()), run.last().accuracy());
    }
    m.put("final_mlm_loss_masked_per_seed", finals);
    m.put("final_mlm_accuracy_masked_per_seed", accuracies);
    m.put("time_to_target_sec_per_seed", bySeed(r.timeToTarget()));
    return m;
  }

  /** Each run's summary and curve, with its time to its seed's target and speedup where judged. */
  private static List<Map<String, Object>> runsJson(List<Done> runs, List<SettingResult> judged) {
    Map<String, SettingResult> bySetting = new HashMap<>();
    judged.forEach(r -> bySetting.put(r.setting(), r));
    List<Map<String, Object>> out = new ArrayList<>();
    for (Done d : runs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.putAll(summary(d.result()));
      SettingResult r = bySetting.get(d.run().setting());
      Double t = r.timeToTarget().get(d.run().seed());
      if (t != null) {
        m.put("time_to_target_sec", Double.isNaN(t) ? null : t);
        double sp = r.speedup().get(d.run().seed());
        m.put("speedup", Double.isNaN(sp) ? null : sp);
      }
      m.put("curve", d.run().curve().stream().map(Point::toJson).toList());
      out.add(m);
    }
    return out;
  }

  /**
   * A run's figures for the report: its setting (CoRe's flattened), what it did, and its final
   * held-out figures; the curve is left to the caller.
   */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> summary(RunResult r) {
    Map<String, Object> m = new LinkedHashMap<>(Jackson.MAPPER.convertValue(r, Map.class));
    m.remove("curve");
    Object core = m.remove("core");
    if (core != null) {
      m.putAll((Map<String, Object>) core);
    }
    m.put("final_mlm_loss_masked", r.last().loss());
    m.put("final_mlm_accuracy_masked", r.last().accuracy());
    m.put("final_mlm_loss", r.last().plainLoss());
    m.put("final_mlm_accuracy", r.last().plainAccuracy());
    return m;
  }

  /**
   * Fine-tunes the best baseline's and the best CoRe setting's final models (of the first {@code
   * finetuneSeeds} seeds), and a randomly initialised BERT for what pretraining buys, on every
   * task, with the task's majority-class dev accuracy. Results are stored like runs.
   */
  private static List<Map<String, Object>> finetune(Settings s, Stage st) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (long seed : s.seeds().subList(0, Math.min(s.finetuneSeeds(), s.seeds().size()))) {
      Done base = find(st.baselines(), st.verdict().bestBaseline().setting(), seed);
      Done core = find(st.cores(), st.verdict().bestCore().setting(), seed);
      for (Finetune f : s.finetunes()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", f.name());
        m.put("seed", seed);
        m.put("majority_class_accuracy", majorityClass(f));
        m.put("random_init", best(f.lrs(), lr -> finetune(s, f, Optional.empty(), seed, lr)));
        m.put("baseline", best(f.lrs(), lr -> finetune(s, f, Optional.of(base), seed, lr)));
        m.put("core", best(f.lrs(), lr -> finetune(s, f, Optional.of(core), seed, lr)));
        out.add(m);
      }
    }
    return out;
  }

  /**
   * Everything that makes two fine-tunings the same: the task, its settings, and the pretrained
   * run's key ({@code model}), or for a random initialisation ({@code model} null) the config.
   */
  record FinetuneKey(
      String task,
      String data,
      String vocab,
      int epochs,
      double learningRate,
      int seq,
      long seed,
      RunKey model,
      JsonNode config) {}

  /**
   * One side's fine-tuning at each lr: the result with the highest dev accuracy, its {@code
   * learning_rate}, and every lr's accuracy. Both sides get the same lrs.
   */
  static Map<String, Object> best(
      List<Double> lrs, java.util.function.DoubleFunction<Map<String, Object>> run) {
    Map<String, Object> best = null;
    Map<String, Object> perLr = new LinkedHashMap<>();
    for (double lr : lrs) {
      Map<String, Object> r = new LinkedHashMap<>(run.apply(lr));
      r.put("learning_rate", lr);
      perLr.put(String.valueOf(lr), r.get("accuracy"));
      if (best == null || num(r, "accuracy") > num(best, "accuracy")) {
        best = r;
      }
    }
    best.put("accuracy_per_learning_rate", perLr);
    return best;
  }

  /** One fine-tuning of {@code model}'s final checkpoint, or of a random initialisation. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> finetune(
      Settings s, Finetune f, Optional<Done> model, long seed, double lr) {
    FinetuneKey key =
        new FinetuneKey(
            f.name(),
            f.dataDir().toString(),
            f.vocab().toString(),
            f.epochs(),
            lr,
            f.seq(),
            seed,
            model.map(Done::key).orElse(null),
            model.isPresent() ? null : RunKey.model(s.cfg(), true));
    String name =
        String.format(
            Locale.ROOT,
            "finetune-%s-%s-lr%.0e",
            f.name(),
            model.map(d -> d.key().name()).orElse("random-init-s" + seed),
            lr);
    Optional<Map> stored = s.store().find(name, key, Map.class);
    if (stored.isPresent()) {
      return stored.get();
    }
    Optional<Done> ready = model.map(d -> withCheckpoint(s, d));
    LOG.info(
        "fine-tuning "
            + ready
                .map(d -> d.key().name() + " (" + d.checkpoint().orElseThrow() + ")")
                .orElse("a random initialisation")
            + " on "
            + f.name()
            + " at lr "
            + lr);
    Map<String, Object> result =
        FineTuner.run(
            new FineTuner.Settings(
                GlueTask.SST2,
                f.dataDir(),
                ready.flatMap(Done::checkpoint),
                ready.map(Done::cfg).orElse(s.cfg()),
                f.vocab(),
                fresh(s.workDir().resolve(name)),
                f.epochs(),
                lr,
                32,
                f.seq(),
                seed,
                true,
                List.of()));
    s.store().put(name, key, result);
    return result;
  }

  /** Dev accuracy of always answering the most frequent dev label. */
  static double majorityClass(Finetune f) {
    List<GlueExample> dev =
        GlueTask.SST2.read(f.dataDir().resolve(GlueTask.SST2.devFiles().get(0)));
    Map<String, Integer> counts = new HashMap<>();
    dev.forEach(e -> counts.merge(e.label(), 1, Integer::sum));
    return counts.values().stream().mapToInt(Integer::intValue).max().orElse(0)
        / (double) dev.size();
  }

  private static Done find(List<Done> runs, String setting, long seed) {
    return runs.stream()
        .filter(d -> d.run().setting().equals(setting) && d.run().seed() == seed)
        .findFirst()
        .orElseThrow();
  }

  /**
   * Every run's masked-loss curve; one colour per setting, the best of each side in bold, the
   * targets and the unigram model's loss as levels.
   */
  private static void chart(Settings s, Stage st, Evaluator.Unigram unigram, Path png) {
    FairProtocol.Verdict v = st.verdict();
    List<Chart.Line> lines = new ArrayList<>();
    List<String> settings = new ArrayList<>();
    for (Done d : concat(st.baselines(), st.cores())) {
      Run r = d.run();
      if (!settings.contains(r.setting())) {
        settings.add(r.setting());
      }
      boolean bold =
          r.setting().equals(v.bestBaseline().setting())
              || r.setting().equals(v.bestCore().setting());
      int relaxedPoints = (int) r.curve().stream().filter(p -> p.phase().equals("relaxed")).count();
      lines.add(
          new Chart.Line(
              r.setting(), r.curve().stream().mapToDouble(Point::sec).toArray(),
              r.curve().stream().mapToDouble(Point::loss).toArray(), relaxedPoints,
              settings.indexOf(r.setting()), bold));
    }
    List<Chart.Level> targets = new ArrayList<>();
    v.targets().forEach((seed, loss) -> targets.add(new Chart.Level("target, seed " + seed, loss)));
    targets.add(new Chart.Level("unigram model (no context)", unigram.loss()));
    Chart.lines(
        png,
        String.format(
            Locale.ROOT,
            "%s: held-out MLM loss, scored tokens masked, %s, %d s per baseline, seeds %s",
            st.name(),
            s.configFile().getFileName(),
            (int) st.budgetSec(),
            st.seeds()),
        "wall-clock seconds (CoRe: dashed = relaxed phase, surgery included)",
        "held-out masked-LM loss, every scored token [MASK] (bold: best of each side)",
        lines,
        List.of(),
        targets);
  }

  private static List<Done> concat(List<Done> a, List<Done> b) {
    List<Done> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static Map<String, Object> bySeed(Map<Long, Double> values) {
    Map<String, Object> m = new LinkedHashMap<>();
    values.forEach((seed, x) -> m.put(String.valueOf(seed), Double.isNaN(x) ? null : x));
    return m;
  }

  private static double mean(Map<Long, Double> values) {
    return values.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }

  private static double num(Map<?, ?> m, String key) {
    return ((Number) m.get(key)).doubleValue();
  }

  /** A run starts from nothing: its scratch directory is emptied first. */
  private static Path fresh(Path dir) {
    try {
      Checkpoints.deleteRecursively(dir);
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + dir, e);
    }
    return dir;
  }
}
