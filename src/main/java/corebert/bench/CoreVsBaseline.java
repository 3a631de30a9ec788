package corebert.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import corebert.core.CorePipeline;
import corebert.model.BertConfig;
import corebert.model.Precision;
import corebert.train.Evaluator;
import corebert.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * `bench core-vs-baseline`: CoRe against from-scratch BERTs under a fair protocol. The baseline
 * gets a learning-rate sweep (and any settings on its own knobs), CoRe no more tuning runs than the
 * baseline, earlier exploration included, and every setting runs with every seed, with the same
 * data and wall-clock budget. Runs go seed by seed, baselines and CoRe interleaved, so that drift
 * in the machine's speed falls on both sides. {@link BenchRunner} trains or reuses each run and
 * gives its held-out curve, {@link FairProtocol} judges the curves, {@link FinetuneStage}
 * fine-tunes the best final models, and {@link BenchReport} writes the JSON sections and plots.
 *
 * <p>Every finished run and fine-tuning goes into a {@link RunStore} (JSON meant to be committed)
 * under a {@link RunKey} of all its settings. A later benchmark reuses what it finds under an equal
 * key, so an interrupted benchmark continues where it stopped, on this machine or a fresh one, and
 * two budgets share their runs. Runs record their machine, and a stage trains its missing runs only
 * on the kind of machine its stored runs trained on: wall-clock budgets compare on no other.
 * Checkpoints stay in the scratch directory; fine-tuning a stored run whose checkpoint is gone
 * trains it again.
 */
public final class CoreVsBaseline {
  private static final Logger LOG = Logger.getLogger(CoreVsBaseline.class.getName());

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
      boolean mixedMachines,
      Path workDir,
      Path runStore,
      Path prefix,
      List<Finetune> finetunes,
      int finetuneSeeds,
      String command) {

    /** Warm-up of short benchmark runs: a tenth of a few thousand steps. */
    public static final long DEFAULT_WARMUP = 200;

    /**
     * Settings for {@code budgetSec} per run, with the defaults: no sweep, a checkpoint every tenth
     * of the budget, seeds 12345 and 54321, TrainConfig's batch, {@link #DEFAULT_WARMUP} warm-up
     * steps, phase 2's default re-warm-up, fp32, the run store in {@code workDir/runs}, no earlier
     * tuning runs and no fine-tuning. The baselines and CoRe settings are the caller's.
     */
    public static Builder builder(
        BertConfig cfg,
        Path configFile,
        List<Path> train,
        List<Path> eval,
        double budgetSec,
        Path workDir,
        Path prefix) {
      return new Builder(cfg, configFile, train, eval, budgetSec, workDir, prefix);
    }

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
      if (mixedMachines) {
        why.add("runs may come from more than one kind of machine (--mixed-machines)");
      }
      return why.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", why));
    }
  }

  private CoreVsBaseline() {}

  /** Builds {@link Settings}; every setter names a component. */
  public static final class Builder {
    private final BertConfig cfg;
    private final Path configFile;
    private final List<Path> train;
    private final List<Path> eval;
    private final double budgetSec;
    private final Path workDir;
    private final Path prefix;
    private double sweepBudgetSec;
    private int sweepSeeds = 1;
    private double evalEverySec;
    private List<BaselineSetting> baselines = List.of();
    private List<CoreSetting> coreSettings = List.of();
    private int priorBaselineTuningRuns;
    private int priorCoreTuningRuns;
    private List<Long> seeds = List.of(12345L, 54321L);
    private int batchSize = TrainConfig.DEFAULT_BATCH;
    private long warmupSteps = Settings.DEFAULT_WARMUP;
    private long fullWarmupSteps = CorePipeline.Plan.DEFAULT_FULL_WARMUP;
    private Precision precision = Precision.FP32;
    private boolean mixedMachines;
    private Path runStore;
    private List<Finetune> finetunes = List.of();
    private Integer finetuneSeeds;
    private String command = "";

    private Builder(
        BertConfig cfg,
        Path configFile,
        List<Path> train,
        List<Path> eval,
        double budgetSec,
        Path workDir,
        Path prefix) {
      this.cfg = cfg;
      this.configFile = configFile;
      this.train = List.copyOf(train);
      this.eval = List.copyOf(eval);
      this.budgetSec = budgetSec;
      this.workDir = workDir;
      this.prefix = prefix;
      this.evalEverySec = budgetSec / 10;
      this.runStore = workDir.resolve("runs");
    }

    /** Tune at {@code sec} with the first {@code seeds} seeds first; 0: no separate sweep. */
    public Builder sweep(double sec, int seeds) {
      sweepBudgetSec = sec;
      sweepSeeds = seeds;
      return this;
    }

    public Builder evalEverySec(double v) {
      evalEverySec = v;
      return this;
    }

    public Builder baselines(List<BaselineSetting> v) {
      baselines = List.copyOf(v);
      return this;
    }

    public Builder coreSettings(List<CoreSetting> v) {
      coreSettings = List.copyOf(v);
      return this;
    }

    /** Runs each side had before this benchmark; they count as tuning. */
    public Builder priorTuningRuns(int baseline, int core) {
      priorBaselineTuningRuns = baseline;
      priorCoreTuningRuns = core;
      return this;
    }

    public Builder seeds(List<Long> v) {
      seeds = List.copyOf(v);
      return this;
    }

    public Builder batchSize(int v) {
      batchSize = v;
      return this;
    }

    public Builder warmupSteps(long v) {
      warmupSteps = v;
      return this;
    }

    public Builder fullWarmupSteps(long v) {
      fullWarmupSteps = v;
      return this;
    }

    public Builder precision(Precision v) {
      precision = v;
      return this;
    }

    /** Let runs still to train here join stored runs from another kind of machine (unfair). */
    public Builder mixedMachines(boolean v) {
      mixedMachines = v;
      return this;
    }

    public Builder runStore(Path v) {
      runStore = v;
      return this;
    }

    /** Fine-tune the best models of the first {@code seeds} seeds on each task. */
    public Builder finetunes(List<Finetune> v, int seeds) {
      finetunes = List.copyOf(v);
      finetuneSeeds = seeds;
      return this;
    }

    public Builder command(String v) {
      command = v;
      return this;
    }

    public Settings build() {
      return new Settings(
          cfg,
          configFile,
          train,
          eval,
          budgetSec,
          sweepBudgetSec,
          sweepSeeds,
          evalEverySec,
          baselines,
          coreSettings,
          priorBaselineTuningRuns,
          priorCoreTuningRuns,
          seeds,
          batchSize,
          warmupSteps,
          fullWarmupSteps,
          precision,
          mixedMachines,
          workDir,
          runStore,
          prefix,
          finetunes,
          finetuneSeeds == null ? seeds.size() : finetuneSeeds,
          command);
    }
  }

  /** One stage of the protocol: runs at one budget, and their verdict. */
  record Stage(
      String name,
      double budgetSec,
      List<Long> seeds,
      List<BenchRunner.Done> baselines,
      List<BenchRunner.Done> cores,
      FairProtocol.Verdict verdict) {
    /** The baselines, then the CoRe runs. */
    List<BenchRunner.Done> runs() {
      List<BenchRunner.Done> all = new ArrayList<>(baselines);
      all.addAll(cores);
      return all;
    }
  }

  /**
   * The headline: the best CoRe setting's speedup over the best baseline (null unless it holds for
   * every seed) and each seed's (null where CoRe never reached the target).
   */
  public record Headline(
      @JsonInclude(JsonInclude.Include.ALWAYS) Double speedup, Map<Long, Double> speedupPerSeed) {}

  /** Runs the protocol, writes PREFIX.json and the plots, and returns the headline. */
  public static Headline run(Settings s) {
    s.cfg().requireRelaxed();
    s.unfairness().ifPresent(why -> LOG.warning("not the fair protocol: " + why));
    // The plateau a model that uses no context sits on: the masked loss means something below it.
    Evaluator.Unigram unigram =
        Evaluator.unigram(Evaluator.HeldOut.of(s.eval(), s.train()), s.cfg().vocabSize());
    List<BaselineSetting> baselines = s.baselines();
    List<CoreSetting> settings = s.coreSettings();
    BenchReport.Section<BenchReport.Best, BenchReport.RunRow> sweepSection = null;
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
      sweepSection = BenchReport.section(sweep);
      BenchReport.chart(s, sweep, unigram, Path.of(s.prefix() + "-sweep.png"));
      baselines = List.of(baseline(s, sweep.verdict().bestBaseline().setting()));
      settings = List.of(setting(s, sweep.verdict().bestCore().setting()));
    }
    Stage fin = stage(s, "final", s.budgetSec(), baselines, settings, s.seeds());
    FairProtocol.Verdict v = fin.verdict();
    Double speedup = v.speedup().orElse(null);
    BenchReport.Section<BenchReport.Best, BenchReport.RunRow> last = BenchReport.section(fin);
    Results.write(
        s.prefix(),
        new BenchReport.Report<>(
            s.command(),
            s.configFile().toString(),
            machine(s, fin),
            BenchReport.protocol(s),
            unigram.loss(),
            unigram.accuracy(),
            sweepSection,
            speedup,
            v.bestCore().speedup(),
            speedup == null ? null : BenchReport.mean(v.bestCore().speedup()),
            last.budgetSecPerRun(),
            last.seeds(),
            last.targets(),
            last.bestBaseline(),
            last.bestCore(),
            last.baselineRuns(),
            last.coreRuns(),
            s.finetunes().isEmpty() ? null : FinetuneStage.finetune(s, fin)));
    BenchReport.chart(s, fin, unigram, Path.of(s.prefix() + ".png"));
    return headline(v);
  }

  /** The verdict's headline, logged. */
  private static Headline headline(FairProtocol.Verdict v) {
    LOG.info(
        "best baseline "
            + v.bestBaseline().setting()
            + " (final "
            + v.targets()
            + "); best CoRe "
            + v.bestCore().setting()
            + ": speedup "
            + v.bestCore().speedup());
    Map<Long, Double> perSeed = new LinkedHashMap<>();
    v.bestCore().speedup().forEach((seed, x) -> perSeed.put(seed, Double.isNaN(x) ? null : x));
    return new Headline(v.speedup().orElse(null), perSeed);
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
    List<BenchRunner.Planned> plan = new ArrayList<>();
    for (long seed : seeds) {
      baselineSettings.forEach(b -> plan.add(BenchRunner.baseline(s, b, seed, budget)));
      settings.forEach(c -> plan.add(BenchRunner.core(s, c, seed, budget)));
    }
    requireOneKindOfMachine(s, name, plan);
    List<BenchRunner.Done> done = plan.stream().map(BenchRunner.Planned::get).toList();
    List<BenchRunner.Done> baselines =
        done.stream().filter(d -> d.result().core() == null).toList();
    List<BenchRunner.Done> cores = done.stream().filter(d -> d.result().core() != null).toList();
    FairProtocol.Verdict v =
        FairProtocol.judge(
            baselines.stream().map(BenchRunner.Done::run).toList(),
            cores.stream().map(BenchRunner.Done::run).toList(),
            seeds);
    return new Stage(name, budget, seeds, baselines, cores, v);
  }

  /**
   * Wall-clock budgets compare only on one kind of machine: a stage with runs still to train goes
   * on here only if its stored runs trained on a machine like this one, or with --mixed-machines.
   */
  static void requireOneKindOfMachine(Settings s, String stage, List<BenchRunner.Planned> plan) {
    if (plan.stream().allMatch(p -> p.stored().isPresent())) {
      return;
    }
    BenchRunner.requireTrainedHere(
        s,
        stage + ": runs are still to train",
        plan.stream().flatMap(p -> p.stored().stream()).toList());
  }

  /** Where the stage's runs trained, if all on one kind of machine; else this machine. */
  private static Machine.Facts machine(Settings s, Stage st) {
    List<Machine.Facts> used = st.runs().stream().map(d -> d.result().machine()).toList();
    Machine.Facts first = used.get(0);
    return used.stream().allMatch(m -> first != null && first.sameKind(m))
        ? first
        : BenchRunner.machine(s);
  }

  private static BaselineSetting baseline(Settings s, String name) {
    return s.baselines().stream().filter(b -> b.name().equals(name)).findFirst().orElseThrow();
  }

  private static CoreSetting setting(Settings s, String name) {
    return s.coreSettings().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
  }

  static BenchRunner.Done find(List<BenchRunner.Done> runs, String setting, long seed) {
    return runs.stream()
        .filter(d -> d.run().setting().equals(setting) && d.run().seed() == seed)
        .findFirst()
        .orElseThrow();
  }
}
