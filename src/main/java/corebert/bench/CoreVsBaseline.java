package corebert.bench;

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
import corebert.util.Json;
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
 * <p>A run whose directory already holds its result for the same settings is reused, so an
 * interrupted benchmark continues where it stopped.
 */
public final class CoreVsBaseline {
  private static final Logger LOG = Logger.getLogger(CoreVsBaseline.class.getName());
  private static final String RUN_FILE = "run.json";
  private static final int EVAL_BATCH = 32;

  /** A fine-tuning task; each side is fine-tuned at every lr in {@code lrs} and keeps its best. */
  public record Finetune(
      String name, Path dataDir, Path vocab, int epochs, List<Double> lrs, int seq) {
    public Finetune {
      lrs = List.copyOf(lrs);
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
      double fraction,
      int ffnRank,
      int attentionRank,
      double relaxedLr,
      double fullLr,
      boolean jointSchedule,
      boolean softmax,
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

    Map<String, Object> toJson() {
      return Json.fields(
          this,
          "budget_fraction",
          "relaxed_fraction",
          "ffn_rank",
          "attention_rank",
          "relaxed_learning_rate",
          "full_learning_rate",
          "joint_schedule",
          "softmax_attention",
          "qk_bound",
          "fit_temperature",
          "blend_steps");
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
      List<Double> baselineLrs,
      List<CoreSetting> coreSettings,
      List<Long> seeds,
      int batchSize,
      long warmupSteps,
      long fullWarmupSteps,
      Precision precision,
      Path workDir,
      Path prefix,
      List<Finetune> finetunes,
      int finetuneSeeds,
      String command) {

    /** Whether this is the protocol DESIGN.md calls fair, and if not, why. */
    Optional<String> unfairness() {
      List<String> why = new ArrayList<>();
      if (baselineLrs.size() < 3) {
        why.add("the baseline has fewer than 3 learning rates");
      }
      if (coreSettings.size() > baselineLrs.size()) {
        why.add("CoRe has more settings than the baseline has learning rates");
      }
      if (seeds.size() < 2) {
        why.add("fewer than 2 seeds");
      }
      return why.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", why));
    }
  }

  /** A finished run: its curve, its summary for the JSON, and its final checkpoint. */
  private record Done(Run run, Map<String, Object> json, Path checkpoint, BertConfig cfg) {}

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
    List<Double> lrs = s.baselineLrs();
    List<CoreSetting> settings = s.coreSettings();
    if (s.sweepBudgetSec() > 0) {
      // Tuning at a shorter budget; the best of each side then runs with every seed.
      Stage sweep =
          stage(
              s, "sweep", s.sweepBudgetSec(), lrs, settings, s.seeds().subList(0, s.sweepSeeds()));
      out.put("sweep", stageJson(sweep));
      chart(s, sweep, unigram, Path.of(s.prefix() + "-sweep.png"));
      lrs = List.of(lr(sweep, sweep.verdict().bestBaseline().setting()));
      settings = List.of(setting(s, sweep.verdict().bestCore().setting()));
    }
    Stage fin = stage(s, "final", s.budgetSec(), lrs, settings, s.seeds());
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
      List<Double> lrs,
      List<CoreSetting> settings,
      List<Long> seeds) {
    LOG.info(
        name
            + ": "
            + lrs.size()
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
      for (double lr : lrs) {
        baselines.add(baseline(s, lr, seed, budget));
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

  private static double lr(Stage st, String setting) {
    return ((Number) find(st.baselines(), setting, st.seeds().get(0)).json().get("learning_rate"))
        .doubleValue();
  }

  private static CoreSetting setting(Settings s, String name) {
    return s.coreSettings().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
  }

  private static Map<String, Object> protocol(Settings s) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("baseline_tuning_runs", s.baselineLrs().size());
    p.put("core_tuning_runs", s.coreSettings().size());
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

  /** Trains (or reuses) a from-scratch full BERT at {@code lr}. */
  private static Done baseline(Settings s, double lr, long seed, double budget) {
    String setting = String.format(Locale.ROOT, "baseline-lr%.0e", lr);
    Path dir =
        s.workDir().resolve(String.format(Locale.ROOT, "%s-t%.0f-s%d", setting, budget, seed));
    String key = key(s, setting, seed, budget);
    Optional<Done> reused = reuse(dir, key, s.cfg(), dir);
    if (reused.isPresent()) {
      return reused.get();
    }
    LOG.info(setting + ", seed " + seed + ": full BERT from scratch for " + budget + " s");
    String started = Instant.now().toString();
    long t0 = System.nanoTime();
    TrainingOutcome o = Trainer.train(s.cfg(), trainConfig(s, Variant.FULL, dir, lr, seed, budget));
    double wall = (System.nanoTime() - t0) / 1e9;
    List<Point> curve = curve(s, s.cfg(), Variant.FULL, dir, dir, "full", 0);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("learning_rate", lr);
    json.put("seed", seed);
    json.put("started", started);
    json.put("steps", o.step());
    json.put("wall_sec", wall);
    return finish(dir, key, new Run(setting, seed, curve), json, s.cfg());
  }

  /** Trains (or reuses) one CoRe setting. */
  private static Done core(Settings s, CoreSetting c, long seed, double baselineBudget) {
    Path dir =
        s.workDir()
            .resolve(String.format(Locale.ROOT, "%s-t%.0f-s%d", c.name(), baselineBudget, seed));
    BertConfig cfg = c.config(s.cfg());
    String key = key(s, c.name(), seed, baselineBudget);
    Path fullDir = dir.resolve(RunDir.CORE_FULL);
    Optional<Done> reused = reuse(dir, key, cfg, fullDir);
    if (reused.isPresent()) {
      return reused.get();
    }
    double budget = baselineBudget * c.budgetFraction();
    LOG.info(
        c.name()
            + ", seed "
            + seed
            + ": CoRe for "
            + budget
            + " s, "
            + c.fraction()
            + " relaxed (FFN rank "
            + c.ffnRank()
            + ", attention rank "
            + c.attentionRank()
            + ", peak lr "
            + c.relaxedLr()
            + "), then full BERT at peak lr "
            + c.fullLr());
    String started = Instant.now().toString();
    long t0 = System.nanoTime();
    Map<String, Object> summary =
        CorePipeline.run(
            cfg,
            trainConfig(s, Variant.RELAXED, dir, c.relaxedLr(), seed, budget),
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
    double surgerySec = ((Number) summary.get("surgery_sec")).doubleValue();
    double switchSec = surgerySec + ((Number) summary.get("phase2_setup_sec")).doubleValue();
    List<Point> curve = new ArrayList<>();
    curve.addAll(
        curve(s, cfg, Variant.RELAXED, dir.resolve(RunDir.CORE_RELAXED), dir, "relaxed", 0));
    curve.addAll(curve(s, cfg, Variant.FULL, fullDir, dir, "full", switchSec));
    Map<String, Object> json = new LinkedHashMap<>(c.toJson());
    json.put("seed", seed);
    json.put("started", started);
    json.put("steps", summary.get("step"));
    json.put("surgery_step", summary.get("surgery_step"));
    json.put("surgery_sec", surgerySec);
    json.put("switch_sec", switchSec);
    json.put("wall_sec", wall);
    return finish(dir, key, new Run(c.name(), seed, curve), json, cfg);
  }

  /** Everything that makes two runs of one setting and seed the same measurement. */
  private static String key(Settings s, String setting, long seed, double budget) {
    return String.join(
        "|",
        setting,
        "seed " + seed,
        "budget " + budget,
        "eval every " + s.evalEverySec(),
        // Curves of runs evaluated before the masked metric lack it: they are not reused.
        "metric mlm_loss_masked",
        "batch " + s.batchSize(),
        "warmup " + s.warmupSteps(),
        "full warmup " + s.fullWarmupSteps(),
        s.precision().name(),
        s.train().toString(),
        s.eval().toString(),
        s.cfg().toJson().replaceAll("\\s+", " "));
  }

  /** A finished run left by an earlier, interrupted benchmark with the same key. */
  private static Optional<Done> reuse(Path dir, String key, BertConfig cfg, Path checkpoints) {
    Path file = dir.resolve(RUN_FILE);
    Optional<Path> last = Checkpoints.latest(checkpoints);
    if (!Files.exists(file) || last.isEmpty()) {
      fresh(dir);
      return Optional.empty();
    }
    Map<String, Object> json;
    try {
      json = Json.parseObject(Files.readString(file));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    if (!key.equals(json.get("key"))) {
      fresh(dir);
      return Optional.empty();
    }
    LOG.info("reusing the finished run in " + dir);
    List<Point> curve = new ArrayList<>();
    for (Object o : (List<?>) json.get("curve")) {
      curve.add(Point.fromJson((Map<?, ?>) o));
    }
    Map<String, Object> summary = new LinkedHashMap<>(json);
    summary.remove("key");
    summary.remove("curve");
    Run run = new Run((String) json.get("setting"), ((Number) json.get("seed")).longValue(), curve);
    return Optional.of(new Done(run, summary, last.get(), cfg));
  }

  /** Records a run's result next to it and keeps only its final checkpoint (disk). */
  private static Done finish(
      Path dir, String key, Run run, Map<String, Object> json, BertConfig cfg) {
    json.put("final_mlm_loss_masked", run.last().loss());
    json.put("final_mlm_accuracy_masked", run.last().accuracy());
    json.put("final_mlm_loss", run.last().plainLoss());
    json.put("final_mlm_accuracy", run.last().plainAccuracy());
    Map<String, Object> file = new LinkedHashMap<>();
    file.put("key", key);
    file.put("setting", run.setting());
    file.putAll(json);
    file.put("curve", run.curve().stream().map(Point::toJson).toList());
    Path checkpoints =
        Files.isDirectory(dir.resolve(RunDir.CORE_FULL)) ? dir.resolve(RunDir.CORE_FULL) : dir;
    Checkpoints.keepNewest(checkpoints, 1);
    Path last = Checkpoints.latest(checkpoints).orElseThrow();
    Checkpoints.writeAtomically(dir.resolve(RUN_FILE), Json.writePretty(file));
    LOG.info(
        String.format(
            Locale.ROOT,
            "%s seed %d: final held-out MLM loss (scored tokens masked) %.4f, accuracy %.4f",
            run.setting(),
            run.seed(),
            run.last().loss(),
            run.last().accuracy()));
    return new Done(run, json, last, cfg);
  }

  private static TrainConfig trainConfig(
      Settings s, Variant variant, Path dir, double lr, long seed, double budgetSec) {
    // Checkpoints every evalEverySec seconds only, all kept: each is a point of the curve.
    return TrainConfig.builder(variant, s.train(), dir)
        .timeBudgetSec(budgetSec)
        .batchSize(s.batchSize())
        .learningRate(lr)
        .warmupSteps(s.warmupSteps())
        .saveEvery(Integer.MAX_VALUE)
        .saveEverySec(s.evalEverySec())
        .logEvery(50)
        .keepCheckpoints(Integer.MAX_VALUE)
        .seed(seed)
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
    first
        .json()
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
      m.put("setting", d.run().setting());
      m.putAll(d.json());
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
   * Fine-tunes the best baseline's and the best CoRe setting's final models (of the first {@code
   * finetuneSeeds} seeds) on every task, with the task's majority-class dev accuracy.
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
        m.put("baseline", best(f.lrs(), lr -> finetune(s, f, base, "baseline", seed, lr)));
        m.put("core", best(f.lrs(), lr -> finetune(s, f, core, "core", seed, lr)));
        out.add(m);
      }
    }
    return out;
  }

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

  private static Map<String, Object> finetune(
      Settings s, Finetune f, Done model, String side, long seed, double lr) {
    LOG.info(
        "fine-tuning " + side + " (" + model.checkpoint() + ") on " + f.name() + " at lr " + lr);
    Path dir = s.workDir().resolve("finetune-" + f.name() + "-" + side + "-s" + seed + "-lr" + lr);
    fresh(dir);
    return FineTuner.run(
        new FineTuner.Settings(
            GlueTask.SST2,
            f.dataDir(),
            model.checkpoint(),
            model.cfg(),
            f.vocab(),
            dir,
            f.epochs(),
            lr,
            32,
            f.seq(),
            seed,
            true,
            List.of()));
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
  private static void fresh(Path dir) {
    try {
      Checkpoints.deleteRecursively(dir);
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + dir, e);
    }
  }
}
