package corebert.bench;

import corebert.bench.CoreVsBaseline.Settings;
import corebert.bench.FairProtocol.Run;
import corebert.bench.FairProtocol.SettingResult;
import corebert.train.Evaluator;
import corebert.train.HeldOutCurve.Point;
import corebert.util.Chart;
import corebert.util.Jackson;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The benchmark's JSON sections and plots: the protocol, each stage's runs and verdict. */
final class BenchReport {
  private BenchReport() {}

  /** One stage's section: budget, seeds, targets, the best of each side and every run. */
  static Map<String, Object> stageJson(CoreVsBaseline.Stage st) {
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

  /** What was compared and how: tuning runs per side, seeds, budgets, and the selection rule. */
  static Map<String, Object> protocol(Settings s) {
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

  /** The best setting: its name, settings, mean final loss and per-seed figures. */
  private static Map<String, Object> best(SettingResult r, List<BenchRunner.Done> runs) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("setting", r.setting());
    BenchRunner.Done first =
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
  private static List<Map<String, Object>> runsJson(
      List<BenchRunner.Done> runs, List<SettingResult> judged) {
    Map<String, SettingResult> bySetting = new HashMap<>();
    judged.forEach(r -> bySetting.put(r.setting(), r));
    List<Map<String, Object>> out = new ArrayList<>();
    for (BenchRunner.Done d : runs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.putAll(summary(d.result()));
      SettingResult r = bySetting.get(d.run().setting());
      Double t = r.timeToTarget().get(d.run().seed());
      if (t != null) {
        m.put("time_to_target_sec", Double.isNaN(t) ? null : t);
        double sp = r.speedup().get(d.run().seed());
        m.put("speedup", Double.isNaN(sp) ? null : sp);
      }
      m.put("curve", d.run().curve());
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
   * Every run's masked-loss curve; one colour per setting, the best of each side in bold, the
   * targets and the unigram model's loss as levels.
   */
  static void chart(Settings s, CoreVsBaseline.Stage st, Evaluator.Unigram unigram, Path png) {
    FairProtocol.Verdict v = st.verdict();
    List<Chart.Line> lines = new ArrayList<>();
    List<String> settings = new ArrayList<>();
    for (BenchRunner.Done d : concat(st.baselines(), st.cores())) {
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

  private static List<BenchRunner.Done> concat(List<BenchRunner.Done> a, List<BenchRunner.Done> b) {
    List<BenchRunner.Done> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  static Map<String, Object> bySeed(Map<Long, Double> values) {
    Map<String, Object> m = new LinkedHashMap<>();
    values.forEach((seed, x) -> m.put(String.valueOf(seed), Double.isNaN(x) ? null : x));
    return m;
  }

  static double mean(Map<Long, Double> values) {
    return values.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }
}
