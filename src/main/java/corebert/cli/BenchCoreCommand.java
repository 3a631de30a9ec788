package corebert.cli;

import static corebert.cli.Flags.*;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import corebert.bench.CoreVsBaseline;
import corebert.core.CorePipeline;
import corebert.model.BertConfig;
import corebert.train.TrainConfig;
import corebert.util.Jackson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert bench core-vs-baseline`: CoRe against from-scratch BERTs under the fair protocol of
 * DESIGN.md: a learning-rate sweep for the baseline, no more CoRe settings than that, every setting
 * with every seed; held-out loss with every scored token masked along the way, speedup to the best
 * baseline's final loss.
 */
final class BenchCoreCommand implements Command {
  private static final String OUTPUT = "eval/core-vs-baseline";
  private static final String WORK = "work/bench-core";

  static final String DEFAULT_BASELINE_LRS = "1e-4,3e-4,1e-3";
  static final String DEFAULT_SEEDS = "12345,54321";

  @Override
  public String name() {
    return "bench core-vs-baseline";
  }

  @Override
  public String summary() {
    return "CoRe vs tuned from-scratch BERTs, same budget and seeds: speedup to the best"
        + " baseline's loss -> JSON + PNG";
  }

  @Override
  public Options options() {
    Options o = new Options();
    addProtocolOptions(o);
    addCoreOptions(o);
    addOutputOptions(o);
    return o;
  }

  /** The data, the budgets, the seeds and each side's settings. */
  private static void addProtocolOptions(Options o) {
    o.addOption(required("config", "FILE", "bert_config.json with a \"relaxed\" block"));
    o.addOption(requiredList("input", "GLOB", "pretraining TFRecords"));
    o.addOption(requiredList("eval-input", "GLOB", "held-out TFRecords"));
    o.addOption(required("time-budget", "SEC", "wall-clock training seconds of each run"));
    o.addOption(
        valued(
            "sweep-budget",
            "SEC",
            "tune at this shorter budget first (every baseline and --core setting with"
                + " the first --sweep-seeds seeds), then run the best of each side with every seed"
                + " at --time-budget (default: no separate sweep)"));
    o.addOption(valued("sweep-seeds", "N", "seeds of the sweep (default 1)"));
    o.addOption(
        valued(
            "eval-every",
            "SEC",
            "checkpoint (and later evaluate) every SEC seconds (default budget/10)"));
    o.addOption(
        valued(
            "baseline-lrs",
            "RATE,...",
            "the baseline's learning-rate sweep, at least 3 for a fair comparison; the lowest"
                + " mean final loss sets the target (default "
                + DEFAULT_BASELINE_LRS
                + ")"));
    o.addOption(
        Flags.optionalList(
            "baseline",
            "KEY=V,...",
            "one more baseline setting on the baseline's own knobs (repeat for more): lr, and"
                + " warm-up-steps and batch-size (default: --warmup-steps, --batch-size); it"
                + " joins the --baseline-lrs settings, e.g. lr=1e-3,warmup-steps=500"));
    o.addOption(
        valued(
            "prior-tuning-runs",
            "BASELINE,CORE",
            "runs each side had before this benchmark (exploration, lever screens): they count as"
                + " tuning, so CoRe's total may not exceed the baseline's (default 0,0)"));
    o.addOption(
        valued(
            "seeds",
            "S,...",
            "every setting runs with each seed; the speedup must hold for all (default "
                + DEFAULT_SEEDS
                + ")"));
  }

  /** CoRe's settings, and what every run shares. */
  private static void addCoreOptions(Options o) {
    o.addOption(
        Flags.optionalList(
            "core",
            "KEY=V,...",
            "one CoRe setting (repeat for more; no more than the baseline has settings): budget"
                + " (share of --time-budget, default 1), relaxed-fraction (phase 1's share of"
                + " that, default "
                + CorePipeline.Plan.DEFAULT_RELAXED_FRACTION
                + "), ffn-rank and"
                + " attention-rank (default: the config's), relaxed-lr (default 1e-3), full-lr"
                + " (default "
                + CorePipeline.Plan.DEFAULT_FULL_LR
                + "), joint (1: phase 1's learning"
                + " rate decays over the whole run; 0: each phase anneals; default 1), softmax (1:"
                + " phase 1 keeps softmax attention, so surgery is exact; default: the config's),"
                + " qk-bound (bound on each layer's |Wq|_F*|Wk|_F in phase 1, 0: none; default:"
                + " the config's), temperature (1: fit a softmax temperature per layer at"
                + " surgery; default 0), blend (phase 2 blends linear attention into softmax over"
                + " this many steps; default 0)"));
    o.addOption(
        valued(
            "batch-size", "N", "sequences per step (default " + TrainConfig.DEFAULT_BATCH + ")"));
    o.addOption(
        valued(
            "warmup-steps",
            "N",
            "warm-up steps of the baselines and of CoRe's phase 1 (default "
                + CoreVsBaseline.Settings.DEFAULT_WARMUP
                + ")"));
    o.addOption(
        valued(
            "full-warmup-steps",
            "N",
            "CoRe phase 2's re-warm-up (default " + CorePipeline.Plan.DEFAULT_FULL_WARMUP + ")"));
    o.addOption(precisionOption("type of every run's matmuls"));
    o.addOption(
        flag(
            "mixed-machines",
            "train the runs still missing here even where the stored runs they are compared with"
                + " trained on another kind of machine (CPU, flags, cores); their wall-clock times"
                + " then do not compare, and the report calls the protocol unfair. Without it the"
                + " benchmark stops with the runs at fault"));
  }

  /** Dropout, where runs and results go, and the fine-tuning tasks. */
  private static void addOutputOptions(Options o) {
    o.addOption(
        valued(
            "dropout",
            "P",
            "hidden and attention dropout of every run (default: the config's); short budgets"
                + " learn faster without"));
    o.addOption(workDir("scratch runs and their final checkpoints", WORK));
    o.addOption(
        valued(
            "run-store",
            "DIR",
            "every finished run's settings, curve and summary, and every fine-tuning, one JSON"
                + " file each (commit it): a run stored with the same settings is not trained"
                + " again (default: WORK-DIR/runs)"));
    o.addOption(outputPrefix(OUTPUT));
    o.addOption(
        Flags.optionalList(
            "finetune-data",
            "DIR",
            "also fine-tune both best final models on each of these SST-2-format tasks"));
    o.addOption(valued("vocab", "FILE", "vocab.txt of the TFRecords (with --finetune-data)"));
    o.addOption(valued("finetune-epochs", "N", "fine-tuning epochs (default 3)"));
    o.addOption(
        valued(
            "finetune-lr",
            "RATE,...",
            "fine-tuning peak learning rate(s); with several, each side keeps its best dev accuracy"
                + " (default 5e-4)"));
    o.addOption(valued("finetune-seq", "N", "fine-tuning sequence length (default 64)"));
    o.addOption(
        valued("finetune-seeds", "N", "fine-tune the models of the first N seeds (default: all)"));
  }

  /** The command's last stdout line: the headline and where the report is. */
  private record Outcome(@JsonUnwrapped CoreVsBaseline.Headline headline, String result) {}

  @Override
  public int run(CommandLine line) {
    BertConfig cfg = Flags.relaxedConfig(line);
    if (line.hasOption("dropout")) {
      cfg = cfg.withDropout(doubleValue(line, "dropout", 0, 0, 0.99));
    }
    double budget = doubleValue(line, "time-budget", 0, 1, 1e7);
    List<Long> seeds = seeds(line);
    List<CoreVsBaseline.BaselineSetting> baselines = baselines(line);
    int[] prior = intList(line, "prior-tuning-runs", "0,0", 0);
    if (prior.length != 2) {
      throw new UsageException("--prior-tuning-runs takes BASELINE,CORE, e.g. 2,6");
    }
    List<CoreVsBaseline.CoreSetting> core = new ArrayList<>();
    String[] specs = line.hasOption("core") ? line.getOptionValues("core") : new String[] {""};
    for (String spec : specs) {
      core.add(coreSetting(spec, cfg.requireRelaxed()));
    }
    requireNoMoreTuning(core.size(), prior[1], baselines.size(), prior[0]);
    if (intValue(line, "sweep-seeds", 1, 1) > seeds.size()) {
      throw new UsageException("--sweep-seeds is more than the " + seeds.size() + " --seeds");
    }
    Path prefix = outputPrefix(line, OUTPUT);
    Path work = workDir(line, WORK);
    CoreVsBaseline.Builder settings =
        CoreVsBaseline.Settings.builder(
                cfg,
                Path.of(line.getOptionValue("config")),
                globs(line, "input"),
                globs(line, "eval-input"),
                budget,
                work,
                prefix)
            .sweep(
                doubleValue(line, "sweep-budget", 0, 0, budget),
                intValue(line, "sweep-seeds", 1, 1))
            .evalEverySec(doubleValue(line, "eval-every", budget / 10, 1, budget))
            .baselines(baselines)
            .coreSettings(core)
            .priorTuningRuns(prior[0], prior[1])
            .seeds(seeds)
            .batchSize(intValue(line, "batch-size", TrainConfig.DEFAULT_BATCH, 1))
            .warmupSteps(longValue(line, "warmup-steps", CoreVsBaseline.Settings.DEFAULT_WARMUP, 0))
            .fullWarmupSteps(
                longValue(line, "full-warmup-steps", CorePipeline.Plan.DEFAULT_FULL_WARMUP, 0))
            .precision(precision(line))
            .mixedMachines(line.hasOption("mixed-machines"))
            .finetunes(finetunes(line), intValue(line, "finetune-seeds", seeds.size(), 1))
            .command(echo(name(), line));
    if (line.hasOption("run-store")) {
      settings.runStore(Path.of(line.getOptionValue("run-store")));
    }
    CoreVsBaseline.Headline out = CoreVsBaseline.run(settings.build());
    System.out.println(Jackson.write(new Outcome(out, prefix + ".json")));
    return 0;
  }

  /** Exploration runs count as tuning: CoRe's total may not exceed the baseline's. */
  private static void requireNoMoreTuning(
      int core, int priorCore, int baseline, int priorBaseline) {
    if (core + priorCore > baseline + priorBaseline) {
      throw new UsageException(
          "CoRe gets no more tuning runs than the baseline: "
              + core
              + " --core settings and "
              + priorCore
              + " earlier runs against "
              + baseline
              + " baseline settings and "
              + priorBaseline
              + " earlier runs");
    }
  }

  /** {@code --seeds}, distinct. */
  private static List<Long> seeds(CommandLine line) {
    List<Long> seeds = new ArrayList<>();
    for (int seed : intList(line, "seeds", DEFAULT_SEEDS, 0)) {
      seeds.add((long) seed);
    }
    if (seeds.stream().distinct().count() != seeds.size()) {
      throw new UsageException("--seeds must be distinct");
    }
    return seeds;
  }

  /** The baseline's settings: each of {@code --baseline-lrs}, then each {@code --baseline}. */
  private static List<CoreVsBaseline.BaselineSetting> baselines(CommandLine line) {
    List<CoreVsBaseline.BaselineSetting> baselines = new ArrayList<>();
    for (double lr : doubleList(line, "baseline-lrs", DEFAULT_BASELINE_LRS, 1e-9, 0.999)) {
      baselines.add(CoreVsBaseline.BaselineSetting.atRate(lr));
    }
    if (line.hasOption("baseline")) {
      for (String spec : line.getOptionValues("baseline")) {
        baselines.add(baselineSetting(spec));
      }
    }
    if (baselines.stream().distinct().count() != baselines.size()) {
      throw new UsageException("--baseline-lrs and --baseline name the same setting twice");
    }
    return baselines;
  }

  /** One fine-tuning task per {@code --finetune-data} folder (SST-2 layout). */
  private static List<CoreVsBaseline.Finetune> finetunes(CommandLine line) {
    List<CoreVsBaseline.Finetune> finetunes = new ArrayList<>();
    if (!line.hasOption("finetune-data")) {
      return finetunes;
    }
    if (!line.hasOption("vocab")) {
      throw new UsageException("--finetune-data needs --vocab");
    }
    Path vocab = existingFile(line, "vocab");
    for (String d : line.getOptionValues("finetune-data")) {
      Path data = Path.of(d);
      if (!Files.isDirectory(data)) {
        throw new UsageException("--finetune-data: no such directory: " + data);
      }
      finetunes.add(
          new CoreVsBaseline.Finetune(
              data.getFileName().toString(),
              data,
              vocab,
              intValue(line, "finetune-epochs", 3, 1),
              list(doubleList(line, "finetune-lr", "5e-4", 1e-9, 0.999)),
              intValue(line, "finetune-seq", 64, 8)));
    }
    return finetunes;
  }

  /** Parses one {@code --baseline} value, e.g. {@code lr=1e-3,warmup-steps=500}. */
  static CoreVsBaseline.BaselineSetting baselineSetting(String spec) {
    Double lr = null;
    Long warmup = null;
    Integer batch = null;
    for (String part : spec.split(",")) {
      String[] kv = part.split("=", 2);
      String key = kv[0].strip();
      try {
        switch (kv.length == 2 ? key : "") {
          case "lr" -> lr = Double.parseDouble(kv[1].strip());
          case "warmup-steps" -> warmup = Long.parseLong(kv[1].strip());
          case "batch-size" -> batch = Integer.parseInt(kv[1].strip());
          default ->
              throw new UsageException(
                  "--baseline: expected KEY=VALUE with KEY in [lr, warmup-steps, batch-size], got '"
                      + part
                      + "'");
        }
      } catch (NumberFormatException e) {
        throw new UsageException("--baseline: " + key + " must be a number, got '" + kv[1] + "'");
      }
    }
    if (lr == null) {
      throw new UsageException("--baseline needs lr=RATE, got '" + spec + "'");
    }
    try {
      return new CoreVsBaseline.BaselineSetting(lr, warmup, batch);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--baseline: " + e.getMessage());
    }
  }

  /** Parses one {@code --core} value, e.g. {@code budget=0.5,attention-rank=32,full-lr=3e-4}. */
  static CoreVsBaseline.CoreSetting coreSetting(String spec, BertConfig.Relaxed relaxed) {
    Map<String, Double> v = new LinkedHashMap<>();
    v.put("budget", 1.0);
    v.put("relaxed-fraction", CorePipeline.Plan.DEFAULT_RELAXED_FRACTION);
    v.put("ffn-rank", (double) relaxed.ffnRank());
    v.put("attention-rank", (double) relaxed.attentionRank());
    v.put("relaxed-lr", 1e-3);
    v.put("full-lr", CorePipeline.Plan.DEFAULT_FULL_LR);
    v.put("joint", 1.0);
    v.put("softmax", relaxed.linearAttention() ? 0.0 : 1.0);
    v.put("qk-bound", relaxed.qkBound());
    v.put("temperature", 0.0);
    v.put("blend", 0.0);
    for (String part : spec.split(",")) {
      if (part.isBlank()) {
        continue;
      }
      String[] kv = part.split("=", 2);
      if (kv.length != 2 || !v.containsKey(kv[0].strip())) {
        throw new UsageException(
            "--core: expected KEY=VALUE with KEY in " + v.keySet() + ", got '" + part + "'");
      }
      try {
        v.put(kv[0].strip(), Double.parseDouble(kv[1].strip()));
      } catch (NumberFormatException e) {
        throw new UsageException(
            "--core: " + kv[0].strip() + " must be a number, got '" + kv[1] + "'");
      }
    }
    requireValid(v);
    return new CoreVsBaseline.CoreSetting(
        v.get("budget"),
        v.get("relaxed-fraction"),
        v.get("ffn-rank").intValue(),
        v.get("attention-rank").intValue(),
        v.get("relaxed-lr"),
        v.get("full-lr"),
        v.get("joint") == 1,
        v.get("softmax") == 1,
        v.get("qk-bound"),
        v.get("temperature") == 1,
        v.get("blend").longValue());
  }

  /** Every {@code --core} value in its range, integers where they must be, levers that fit. */
  private static void requireValid(Map<String, Double> v) {
    requireIn(v, "budget", 0.01, 1);
    requireIn(v, "relaxed-fraction", 0.01, 0.99);
    requireIn(v, "ffn-rank", 1, Integer.MAX_VALUE);
    requireIn(v, "attention-rank", 0, Integer.MAX_VALUE);
    requireIn(v, "relaxed-lr", 1e-9, 0.999);
    requireIn(v, "full-lr", 1e-9, 0.999);
    requireIn(v, "joint", 0, 1);
    requireIn(v, "softmax", 0, 1);
    requireIn(v, "qk-bound", 0, Double.MAX_VALUE);
    requireIn(v, "temperature", 0, 1);
    requireIn(v, "blend", 0, Integer.MAX_VALUE);
    for (String rank :
        List.of("ffn-rank", "attention-rank", "joint", "softmax", "temperature", "blend")) {
      if (v.get(rank) != Math.rint(v.get(rank))) {
        throw new UsageException("--core: " + rank + " must be an integer, got " + v.get(rank));
      }
    }
    try {
      CorePipeline.Handover.of(
          v.get("temperature") == 1, v.get("blend").longValue(), v.get("softmax") == 0);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--core: " + e.getMessage());
    }
  }

  private static void requireIn(Map<String, Double> v, String key, double min, double max) {
    double x = v.get(key);
    if (!(x >= min && x <= max)) {
      throw new UsageException(
          "--core: " + key + " must be in [" + min + ", " + max + "], got " + x);
    }
  }

  private static List<Double> list(double[] values) {
    return Arrays.stream(values).boxed().toList();
  }
}
