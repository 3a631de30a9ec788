package corebert.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import corebert.bench.CoreVsBaseline.Settings;
import corebert.bench.FairProtocol.Run;
import corebert.bench.FairProtocol.SettingResult;
import corebert.train.Evaluator;
import corebert.train.HeldOutCurve.Point;
import corebert.util.Chart;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * `bench core-vs-baseline`'s {@code PREFIX.json} as typed records, and its plots. The report's runs
 * and best settings are generic: {@link Best} and {@link RunRow} today, {@link LegacyBest} and
 * {@link LegacyRun} in the files written before the masked metric (issue 20).
 */
final class BenchReport {
  private BenchReport() {}

  /**
   * The whole report: what ran and how, the sweep, and the final stage's fields at the top level
   * (as the first reports had them) with the headline speedup.
   *
   * @param unigramLoss the masked loss of a model that uses no context (absent before issue 20)
   * @param sweep the tuning stage, null without one
   * @param speedup the best CoRe setting's speedup for every seed, null unless all reached it
   * @param finetune null without fine-tuning tasks
   */
  record Report<B, R>(
      String command,
      String config,
      Machine.Facts machine,
      Protocol protocol,
      Double unigramLoss,
      Double unigramAccuracy,
      Section<B, R> sweep,
      @JsonInclude(JsonInclude.Include.ALWAYS) Double speedup,
      Map<Long, Double> speedupPerSeed,
      @JsonInclude(JsonInclude.Include.ALWAYS) Double speedupMean,
      double budgetSecPerRun,
      List<Long> seeds,
      Map<Long, Double> targets,
      B bestBaseline,
      B bestCore,
      List<R> baselineRuns,
      List<R> coreRuns,
      List<FinetuneStage.Row> finetune) {}

  /** One stage: budget, seeds, each seed's target, the best of each side, and every run. */
  record Section<B, R>(
      double budgetSecPerRun,
      List<Long> seeds,
      @JsonInclude(JsonInclude.Include.ALWAYS) Double speedup,
      Map<Long, Double> targets,
      B bestBaseline,
      B bestCore,
      List<R> baselineRuns,
      List<R> coreRuns) {}

  /**
   * What was compared and how. Exploration runs count as tuning: each side's count includes what it
   * had before ({@code ..._before}, absent in the first reports).
   */
  record Protocol(
      int baselineTuningRuns,
      int coreTuningRuns,
      Integer baselineTuningRunsBefore,
      Integer coreTuningRunsBefore,
      List<Long> seeds,
      double budgetSecPerRun,
      Double sweepBudgetSecPerRun,
      List<Long> sweepSeeds,
      double evalEverySec,
      int batchSize,
      long warmupSteps,
      long fullWarmupSteps,
      String precision,
      double dropout,
      boolean fair,
      String unfairBecause,
      String selection) {}

  /**
   * A side's best setting: a baseline's learning rate or CoRe's setting, its mean final masked
   * loss, and per seed its final masked loss and accuracy and its time to that seed's target.
   */
  record Best(
      String setting,
      Double learningRate,
      CoreVsBaseline.CoreSetting core,
      double meanFinalMlmLossMasked,
      Map<Long, Double> finalMlmLossMaskedPerSeed,
      Map<Long, Double> finalMlmAccuracyMaskedPerSeed,
      Map<Long, Double> timeToTargetSecPerSeed) {}

  /**
   * A run: as stored, its last held-out point, and where judged its time to its seed's target and
   * speedup (null where it never reached the target).
   */
  record RunRow(
      RunResult run,
      Point last,
      @JsonInclude(JsonInclude.Include.ALWAYS) Double timeToTargetSec,
      @JsonInclude(JsonInclude.Include.ALWAYS) Double speedup) {}

  /** CoRe's settings as the first reports flattened them into a run or best setting. */
  record LegacyCoreSetting(
      Double budgetFraction,
      Double relaxedFraction,
      Integer ffnRank,
      Integer attentionRank,
      Double relaxedLearningRate,
      Double fullLearningRate,
      Boolean jointSchedule) {}

  /**
   * A best setting before the masked metric: {@code mean_final_mlm_loss} and the per-seed figures
   * are the plain held-out MLM loss and accuracy (scored tokens as written), not today's masked
   * {@code mean_final_mlm_loss_masked}.
   */
  record LegacyBest(
      String setting,
      Double learningRate,
      @JsonUnwrapped LegacyCoreSetting core,
      double meanFinalMlmLoss,
      Map<Long, Double> finalMlmLossPerSeed,
      Map<Long, Double> finalMlmAccuracyPerSeed,
      Map<Long, Double> timeToTargetSecPerSeed) {}

  /** A run before the masked metric: plain held-out figures, CoRe's settings flattened. */
  record LegacyRun(
      String setting,
      long seed,
      String started,
      long steps,
      double wallSec,
      Double learningRate,
      @JsonUnwrapped LegacyCoreSetting core,
      Long surgeryStep,
      Double surgerySec,
      Double switchSec,
      double finalMlmLoss,
      double finalMlmAccuracy,
      Double timeToTargetSec,
      Double speedup,
      List<LegacyPoint> curve) {}

  /** A curve point before the masked metric: the plain held-out MLM loss and accuracy. */
  record LegacyPoint(double sec, long step, String phase, double mlmLoss, double mlmAccuracy) {}

  /** One stage's section: budget, seeds, targets, the best of each side and every run. */
  static Section<Best, RunRow> section(CoreVsBaseline.Stage st) {
    FairProtocol.Verdict v = st.verdict();
    return new Section<>(
        st.budgetSec(),
        st.seeds(),
        v.speedup().orElse(null),
        v.targets(),
        best(v.bestBaseline(), st.baselines()),
        best(v.bestCore(), st.cores()),
        rows(st.baselines(), v.baselines()),
        rows(st.cores(), v.cores()));
  }

  /** What was compared and how: tuning runs per side, seeds, budgets, and the selection rule. */
  static Protocol protocol(Settings s) {
    boolean sweep = s.sweepBudgetSec() > 0;
    return new Protocol(
        s.baselineTuningRuns(),
        s.coreTuningRuns(),
        s.priorBaselineTuningRuns(),
        s.priorCoreTuningRuns(),
        s.seeds(),
        s.budgetSec(),
        sweep ? s.sweepBudgetSec() : null,
        sweep ? s.seeds().subList(0, s.sweepSeeds()) : null,
        s.evalEverySec(),
        s.batchSize(),
        s.warmupSteps(),
        s.fullWarmupSteps(),
        s.precision().name().toLowerCase(Locale.ROOT),
        s.cfg().hiddenDropoutProb(),
        s.unfairness().isEmpty(),
        s.unfairness().orElse(null),
        "best baseline: lowest final held-out MLM loss with every scored token masked, averaged"
            + " over seeds; target per seed: its final loss; speedup per seed: its time to the"
            + " target / CoRe's (full-BERT points, surgery included); a CoRe setting counts with"
            + " its lowest speedup over the seeds; best CoRe: the highest such speedup");
  }

  /** The best setting: its name, settings, mean final loss and per-seed figures. */
  private static Best best(SettingResult r, List<BenchRunner.Done> runs) {
    RunResult first =
        runs.stream()
            .filter(d -> d.run().setting().equals(r.setting()))
            .findFirst()
            .orElseThrow()
            .result();
    Map<Long, Double> finals = new LinkedHashMap<>();
    Map<Long, Double> accuracies = new LinkedHashMap<>();
    for (Run run : r.runs()) {
      finals.put(run.seed(), run.last().loss());
      accuracies.put(run.seed(), run.last().accuracy());
    }
    return new Best(
        r.setting(),
        first.learningRate(),
        first.core(),
        r.meanFinalLoss(),
        finals,
        accuracies,
        r.timeToTarget());
  }

  /** Each run as stored, with its time to its seed's target and speedup where judged. */
  private static List<RunRow> rows(List<BenchRunner.Done> runs, List<SettingResult> judged) {
    Map<String, SettingResult> bySetting = new HashMap<>();
    judged.forEach(r -> bySetting.put(r.setting(), r));
    List<RunRow> out = new ArrayList<>();
    for (BenchRunner.Done d : runs) {
      SettingResult r = bySetting.get(d.run().setting());
      long seed = d.run().seed();
      out.add(
          new RunRow(
              d.result(), d.result().last(), r.timeToTarget().get(seed), r.speedup().get(seed)));
    }
    return out;
  }

  /**
   * Every run's masked-loss curve; one colour per setting, one marker per seed, the best of each
   * side in bold, the targets and the unigram model's loss as levels.
   */
  static void chart(Settings s, CoreVsBaseline.Stage st, Evaluator.Unigram unigram, Path png) {
    FairProtocol.Verdict v = st.verdict();
    List<Chart.Line> lines = new ArrayList<>();
    List<String> settings = new ArrayList<>();
    for (BenchRunner.Done d : st.runs()) {
      Run r = d.run();
      if (!settings.contains(r.setting())) {
        settings.add(r.setting());
      }
      boolean bold =
          r.setting().equals(v.bestBaseline().setting())
              || r.setting().equals(v.bestCore().setting());
      int relaxedPoints = (int) r.curve().stream().filter(p -> p.phase().equals("relaxed")).count();
      int shape = st.seeds().indexOf(r.seed());
      lines.add(
          new Chart.Line(
              st.seeds().size() > 1 ? r.setting() + ", seed " + r.seed() : r.setting(),
              r.curve().stream().mapToDouble(Point::sec).toArray(),
              r.curve().stream().mapToDouble(Point::loss).toArray(),
              relaxedPoints,
              settings.indexOf(r.setting()),
              shape,
              bold));
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
        "held-out MLM loss, scored tokens [MASK] (bold: best per side)",
        lines,
        List.of(),
        targets);
  }

  static double mean(Map<Long, Double> values) {
    return values.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
  }
}
