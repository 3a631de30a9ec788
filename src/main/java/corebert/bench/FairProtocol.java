package corebert.bench;

import corebert.train.HeldOutCurve.Point;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The verdict of a CoRe-vs-baseline comparison, from curves alone (no training here, so it is
 * tested on hand-made curves):
 *
 * <ol>
 *   <li>The best baseline is the baseline setting (learning rate) with the lowest final held-out
 *       loss, averaged over the seeds.
 *   <li>For each seed, its run with that seed sets the target: its final loss. Its time to the
 *       target is when its curve first reaches that loss.
 *   <li>Each CoRe setting's speedup for a seed is the baseline's time to that seed's target over
 *       CoRe's (the full BERT's points only; surgery is on CoRe's clock). A setting counts only
 *       where it reaches the target for every seed, and its speedup is the lowest over the seeds.
 *   <li>The best CoRe setting has the highest such speedup; if none reaches every target, the
 *       lowest mean final loss.
 * </ol>
 */
final class FairProtocol {
  private FairProtocol() {}

  /** One training run: a setting (a baseline lr, or a CoRe setting) with one seed. */
  record Run(String setting, long seed, List<Point> curve) {
    Run {
      if (curve.isEmpty()) {
        throw new IllegalArgumentException("run " + setting + " seed " + seed + " has no points");
      }
      curve = List.copyOf(curve);
    }

    Point last() {
      return curve.get(curve.size() - 1);
    }
  }

  /** How one setting fared over the seeds. */
  record SettingResult(
      String setting,
      List<Run> runs,
      double meanFinalLoss,
      Map<Long, Double> timeToTarget, // seconds; NaN where the target was not reached
      Map<Long, Double> speedup) { // NaN where the target was not reached

    /** The speedup that holds for every seed: the lowest; NaN unless every seed reached it. */
    double minSpeedup() {
      double min = Double.POSITIVE_INFINITY;
      for (double s : speedup.values()) {
        if (Double.isNaN(s)) {
          return Double.NaN;
        }
        min = Math.min(min, s);
      }
      return speedup.isEmpty() ? Double.NaN : min;
    }
  }

  /** The judged comparison. */
  record Verdict(
      SettingResult bestBaseline,
      List<SettingResult> baselines,
      Map<Long, Double> targets,
      SettingResult bestCore,
      List<SettingResult> cores) {

    /** The headline: the best CoRe setting's speedup for every seed, or empty. */
    Optional<Double> speedup() {
      double s = bestCore.minSpeedup();
      return Double.isNaN(s) ? Optional.empty() : Optional.of(s);
    }
  }

  /** Judges the runs; every setting must have run with every seed in {@code seeds}. */
  static Verdict judge(List<Run> baselineRuns, List<Run> coreRuns, List<Long> seeds) {
    List<SettingResult> baselines = new ArrayList<>();
    for (List<Run> runs : bySetting(baselineRuns, seeds)) {
      baselines.add(summarise(runs, Map.of(), Map.of()));
    }
    int bestIndex = 0;
    for (int i = 1; i < baselines.size(); i++) {
      if (baselines.get(i).meanFinalLoss() < baselines.get(bestIndex).meanFinalLoss()) {
        bestIndex = i;
      }
    }
    SettingResult best = baselines.get(bestIndex);
    Map<Long, Double> targets = new LinkedHashMap<>();
    Map<Long, Double> baseTimes = new LinkedHashMap<>();
    for (Run r : best.runs()) {
      targets.put(r.seed(), r.last().loss());
      baseTimes.put(r.seed(), timeToReach(r.curve(), r.last().loss(), "full"));
    }
    // Every baseline judged against the best one's targets (the best's speedup is 1).
    for (int i = 0; i < baselines.size(); i++) {
      baselines.set(i, summarise(baselines.get(i).runs(), targets, baseTimes));
    }
    best = baselines.get(bestIndex);
    List<SettingResult> cores = new ArrayList<>();
    for (List<Run> runs : bySetting(coreRuns, seeds)) {
      cores.add(summarise(runs, targets, baseTimes));
    }
    SettingResult bestCore = cores.get(0);
    for (SettingResult c : cores) {
      if (better(c, bestCore)) {
        bestCore = c;
      }
    }
    return new Verdict(best, baselines, targets, bestCore, cores);
  }

  /** Higher speedup for every seed wins; where neither reaches every target, lower final loss. */
  private static boolean better(SettingResult a, SettingResult b) {
    double sa = a.minSpeedup();
    double sb = b.minSpeedup();
    if (!Double.isNaN(sa) || !Double.isNaN(sb)) {
      return Double.isNaN(sb) || (!Double.isNaN(sa) && sa > sb);
    }
    return a.meanFinalLoss() < b.meanFinalLoss();
  }

  private static SettingResult summarise(
      List<Run> runs, Map<Long, Double> targets, Map<Long, Double> baseTimes) {
    double lossSum = 0;
    Map<Long, Double> times = new LinkedHashMap<>();
    Map<Long, Double> speedups = new LinkedHashMap<>();
    for (Run r : runs) {
      lossSum += r.last().loss();
      if (targets.containsKey(r.seed())) {
        double t = timeToReach(r.curve(), targets.get(r.seed()), "full");
        times.put(r.seed(), t);
        speedups.put(r.seed(), baseTimes.get(r.seed()) / t);
      }
    }
    return new SettingResult(runs.get(0).setting(), runs, lossSum / runs.size(), times, speedups);
  }

  /** The runs grouped by setting in first-seen order, each group in {@code seeds} order. */
  private static List<List<Run>> bySetting(List<Run> runs, List<Long> seeds) {
    if (runs.isEmpty()) {
      throw new IllegalArgumentException("no runs to judge");
    }
    Map<String, Map<Long, Run>> groups = new LinkedHashMap<>();
    for (Run r : runs) {
      if (groups.computeIfAbsent(r.setting(), k -> new LinkedHashMap<>()).put(r.seed(), r)
          != null) {
        throw new IllegalArgumentException("two runs of " + r.setting() + " with seed " + r.seed());
      }
    }
    List<List<Run>> out = new ArrayList<>();
    groups.forEach(
        (setting, bySeed) -> {
          List<Run> ordered = new ArrayList<>();
          for (long seed : seeds) {
            Run r = bySeed.get(seed);
            if (r == null) {
              throw new IllegalArgumentException(setting + " has no run with seed " + seed);
            }
            ordered.add(r);
          }
          out.add(ordered);
        });
    return out;
  }

  /**
   * First time a curve's {@code phase} points reach {@code target}, interpolated linearly between
   * the two evaluations around the crossing; NaN when they never do.
   */
  static double timeToReach(List<Point> curve, double target, String phase) {
    Point prev = null;
    for (Point p : curve) {
      if (!p.phase().equals(phase)) {
        continue;
      }
      if (p.loss() <= target) {
        if (prev == null || prev.loss() == p.loss()) {
          return p.sec();
        }
        double f = (prev.loss() - target) / (prev.loss() - p.loss());
        return prev.sec() + f * (p.sec() - prev.sec());
      }
      prev = p;
    }
    return Double.NaN;
  }
}
