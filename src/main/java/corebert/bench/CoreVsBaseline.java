package corebert.bench;

import corebert.glue.FineTuner;
import corebert.glue.GlueTask;
import corebert.model.BertConfig;
import corebert.model.Precision;
import corebert.model.BertModel.Variant;
import corebert.surgery.CorePipeline;
import corebert.train.AdamWeightDecay;
import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import corebert.train.MetricsLog;
import corebert.train.Parallelism;
import corebert.train.TrainConfig;
import corebert.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * `bench core-vs-baseline`: a from-scratch full BERT and CoRe (one run per relaxed fraction and
 * FFN rank) trained one after the other with the same data, seed, batch, learning rate and
 * wall-clock budget. Each run checkpoints every {@code evalEverySec} seconds of training; every
 * checkpoint is then evaluated on held-out data, which gives held-out MLM loss against wall-clock
 * seconds. The speedup is the baseline's time to reach its final held-out loss divided by CoRe's
 * time to reach the same loss with a full BERT (surgery time included).
 */
public final class CoreVsBaseline {
  private static final Logger LOG = Logger.getLogger(CoreVsBaseline.class.getName());

  /** Fine-tuning both final models on a GLUE-format task (optional). */
  public record Finetune(GlueTask task, Path dataDir, Path vocab, int epochs, double lr, int seq) {}

  /** Everything one benchmark run needs. */
  public record Settings(
      BertConfig cfg,
      Path configFile,
      List<Path> train,
      List<Path> eval,
      double budgetSec,
      double evalEverySec,
      double[] relaxedFractions,
      int[] ffnRanks,
      int batchSize,
      double lr,
      long warmupSteps,
      long fullWarmupSteps,
      double[] fullLrs,
      long seed,
      Path workDir,
      Path prefix,
      Optional<Finetune> finetune,
      String command) {}

  /** One evaluated checkpoint: training seconds (plus surgery for phase 2), step, phase, loss. */
  record Point(double sec, long step, String phase, double loss, double accuracy) {
    Map<String, Object> toJson() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("sec", sec);
      m.put("step", step);
      m.put("phase", phase);
      m.put("mlm_loss", loss);
      m.put("mlm_accuracy", accuracy);
      return m;
    }
  }

  private CoreVsBaseline() {}

  public static Map<String, Object> run(Settings s) {
    s.cfg().requireRelaxed();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("command", s.command());
    out.put("config", s.configFile().toString());
    out.put("machine", Machine.facts(false));
    out.put("budget_sec_per_run", s.budgetSec());
    out.put("eval_every_sec", s.evalEverySec());
    out.put("batch_size", s.batchSize());
    out.put("learning_rate", s.lr());
    out.put("warmup_steps", s.warmupSteps());
    out.put("full_warmup_steps", s.fullWarmupSteps());
    out.put("seed", s.seed());

    LOG.info("baseline: full BERT from scratch for " + s.budgetSec() + " s");
    Path baseDir = fresh(s.workDir().resolve("baseline"));
    long t0 = System.nanoTime();
    Trainer.Outcome base = Trainer.train(s.cfg(), trainConfig(s, Variant.FULL, baseDir));
    double baseWall = (System.nanoTime() - t0) / 1e9;
    List<Point> baseCurve = curve(s, s.cfg(), baseDir, baseDir, Variant.FULL, "full", 0);
    Point baseFinal = baseCurve.get(baseCurve.size() - 1);
    double target = baseFinal.loss();
    double baseTime = timeToReach(baseCurve, target, "full");
    Map<String, Object> baseline = new LinkedHashMap<>();
    baseline.put("steps", base.step());
    baseline.put("wall_sec", baseWall);
    baseline.put("final_mlm_loss", target);
    baseline.put("final_mlm_accuracy", baseFinal.accuracy());
    baseline.put("time_to_target_sec", baseTime);
    baseline.put("curve", baseCurve.stream().map(Point::toJson).toList());
    out.put("target_mlm_loss", target);
    out.put("baseline", baseline);

    List<Map<String, Object>> runs = new ArrayList<>();
    List<Chart.Line> lines = new ArrayList<>();
    List<Chart.Marker> markers = new ArrayList<>();
    lines.add(line("baseline (full BERT)", baseCurve, 0));
    Map<String, Object> best = null;
    Path bestCheckpoint = null;
    for (Setting setting : settings(s)) {
      Path dir = fresh(s.workDir().resolve(setting.name()));
      List<Point> curve = new ArrayList<>();
      Map<String, Object> run = runCore(s, setting, dir, target, baseTime, curve);
      runs.add(run);
      int relaxedPoints = (int) curve.stream().filter(p -> p.phase().equals("relaxed")).count();
      lines.add(line(setting.name().replace("core-", "CoRe "), curve, relaxedPoints - 1));
      markers.add(new Chart.Marker("surgery", curve.get(relaxedPoints).sec(), lines.size() - 1));
      if (best == null || better(run, best)) {
        best = run;
        bestCheckpoint = Checkpoints.latest(dir.resolve(CorePipeline.FULL_DIR)).orElseThrow();
      }
    }
    out.put("runs", runs);
    out.put(
        "best",
        Map.of(
            "relaxed_fraction", best.get("relaxed_fraction"), "ffn_rank", best.get("ffn_rank"),
            "full_learning_rate", best.get("full_learning_rate")));
    // The headline: the best setting's speedup; null when no CoRe run reached the baseline's loss.
    out.put("speedup", best.get("speedup"));
    if (s.finetune().isPresent()) {
      Map<String, Object> ft = new LinkedHashMap<>();
      ft.put("baseline", finetune(s, s.cfg(), base.checkpoint(), "baseline"));
      ft.put("core_best", finetune(s, s.cfg().withFfnRank((Integer) best.get("ffn_rank")), bestCheckpoint, "core"));
      out.put("finetune", ft);
    }
    Results.write(s.prefix(), out);
    Chart.lines(
        Path.of(s.prefix() + ".png"),
        "held-out MLM loss: CoRe vs from-scratch BERT, " + s.configFile().getFileName()
            + ", " + (int) s.budgetSec() + " s each",
        "wall-clock seconds of training (CoRe: dashed = relaxed phase)", "held-out MLM loss",
        lines, markers);
    return out;
  }

  /** One CoRe run of the sweep. */
  private record Setting(double fraction, int rank, double fullLr) {
    String name() {
      return String.format("core-f%.2f-r%d-lr%.0e", fraction, rank, fullLr);
    }
  }

  private static List<Setting> settings(Settings s) {
    List<Setting> all = new ArrayList<>();
    for (double fraction : s.relaxedFractions()) {
      for (int rank : s.ffnRanks()) {
        for (double lr : s.fullLrs()) {
          all.add(new Setting(fraction, rank, lr));
        }
      }
    }
    return all;
  }

  /** Trains one CoRe setting, evaluates its checkpoints into {@code curve}, and summarises it. */
  private static Map<String, Object> runCore(
      Settings s, Setting setting, Path dir, double target, double baseTime, List<Point> curve) {
    LOG.info(
        setting.name() + ": CoRe, " + setting.fraction() + " of " + s.budgetSec()
            + " s relaxed, FFN rank " + setting.rank() + ", phase-2 peak lr " + setting.fullLr());
    BertConfig cfg = s.cfg().withFfnRank(setting.rank());
    long t0 = System.nanoTime();
    Map<String, Object> summary =
        CorePipeline.run(
            cfg, trainConfig(s, Variant.RELAXED, dir),
            new CorePipeline.Plan(0, 0, setting.fraction(), s.fullWarmupSteps(), setting.fullLr(), List.of()));
    double wall = (System.nanoTime() - t0) / 1e9;
    double surgerySec = ((Number) summary.get("surgery_sec")).doubleValue();
    curve.addAll(curve(s, cfg, dir.resolve(CorePipeline.RELAXED_DIR), dir, Variant.RELAXED, "relaxed", 0));
    curve.addAll(curve(s, cfg, dir.resolve(CorePipeline.FULL_DIR), dir, Variant.FULL, "full", surgerySec));
    double time = timeToReach(curve, target, "full");
    Point last = curve.get(curve.size() - 1);
    Map<String, Object> run = new LinkedHashMap<>();
    run.put("relaxed_fraction", setting.fraction());
    run.put("ffn_rank", setting.rank());
    run.put("full_learning_rate", setting.fullLr());
    run.put("steps", summary.get("step"));
    run.put("surgery_step", summary.get("surgery_step"));
    run.put("surgery_sec", surgerySec);
    run.put("wall_sec", wall);
    run.put("final_mlm_loss", last.loss());
    run.put("final_mlm_accuracy", last.accuracy());
    run.put("time_to_target_sec", Double.isNaN(time) ? null : time);
    run.put("speedup", Double.isNaN(time) ? null : baseTime / time);
    run.put("curve", curve.stream().map(Point::toJson).toList());
    LOG.info(
        setting.name() + ": final held-out " + last.loss() + " vs baseline " + target
            + (Double.isNaN(time) ? "; never reached the baseline's loss" : "; speedup " + baseTime / time));
    return run;
  }

  /** Faster to the target wins; when none reaches it, the lower final loss. */
  private static boolean better(Map<String, Object> a, Map<String, Object> b) {
    Object sa = a.get("speedup");
    Object sb = b.get("speedup");
    if (sa != null || sb != null) {
      return sb == null || (sa != null && (Double) sa > (Double) sb);
    }
    return (Double) a.get("final_mlm_loss") < (Double) b.get("final_mlm_loss");
  }

  private static TrainConfig trainConfig(Settings s, Variant variant, Path dir) {
    return new TrainConfig(
        variant, s.train(), dir, dir, 0, s.budgetSec(), s.batchSize(), s.lr(), s.warmupSteps(),
        Optional.empty(), Integer.MAX_VALUE, s.evalEverySec(), 50, Integer.MAX_VALUE, 5, false,
        s.seed(), AdamWeightDecay.Rule.ADAMW, false, Precision.FP32, 10_000,
        variant.name().toLowerCase(), 0,
        Parallelism.SINGLE);
  }

  /**
   * Evaluates every checkpoint of {@code ckptDir}; its time is the elapsed training seconds logged
   * at its step in {@code metricsDir}'s metrics.jsonl, plus {@code extraSec}.
   */
  private static List<Point> curve(
      Settings s, BertConfig cfg, Path ckptDir, Path metricsDir, Variant variant, String phase,
      double extraSec) {
    Map<Long, Double> elapsed = new LinkedHashMap<>();
    for (Map<String, Object> rec : MetricsLog.read(metricsDir.resolve(MetricsLog.FILE))) {
      elapsed.put(((Number) rec.get("step")).longValue(), ((Number) rec.get("elapsed_sec")).doubleValue());
    }
    List<Point> points = new ArrayList<>();
    for (Path ckpt : Checkpoints.all(ckptDir)) {
      long step = Checkpoints.stepOf(ckpt);
      // Surgery's checkpoint sits at phase 1's last step and time.
      Double sec = elapsed.get(step);
      if (sec == null) {
        throw new IllegalStateException("no metrics record at step " + step + " in " + metricsDir);
      }
      Map<String, Object> m = Evaluator.evaluate(cfg, variant, ckpt, s.eval(), s.batchSize());
      Point p =
          new Point(
              sec + extraSec, step, phase, ((Number) m.get("mlm_loss")).doubleValue(),
              ((Number) m.get("mlm_accuracy")).doubleValue());
      LOG.info(String.format("  %s step %d at %.0f s: held-out MLM loss %.4f", phase, step, p.sec(), p.loss()));
      points.add(p);
    }
    return points;
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

  private static Map<String, Object> finetune(Settings s, BertConfig cfg, Path checkpoint, String name) {
    Finetune f = s.finetune().orElseThrow();
    LOG.info("fine-tuning " + name + " (" + checkpoint + ") on " + f.task().name());
    return FineTuner.run(
        new FineTuner.Settings(
            f.task(), f.dataDir(), checkpoint, cfg, f.vocab(), fresh(s.workDir().resolve("finetune-" + name)),
            f.epochs(), f.lr(), 32, f.seq(), s.seed(), true, false));
  }

  private static Chart.Line line(String name, List<Point> curve, int dashedUntil) {
    return new Chart.Line(
        name, curve.stream().mapToDouble(Point::sec).toArray(),
        curve.stream().mapToDouble(Point::loss).toArray(), dashedUntil);
  }

  /** A benchmark run starts from nothing: its scratch directory is emptied first. */
  private static Path fresh(Path dir) {
    try {
      Checkpoints.deleteRecursively(dir);
      Files.createDirectories(dir);
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + dir, e);
    }
  }
}
