package corebert.bench;

import com.fasterxml.jackson.databind.JsonNode;
import corebert.bench.CoreVsBaseline.Finetune;
import corebert.bench.CoreVsBaseline.Settings;
import corebert.glue.FineTuner;
import corebert.glue.GlueExample;
import corebert.glue.GlueTask;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.DoubleFunction;
import java.util.logging.Logger;

/**
 * The benchmark's downstream check: the best final model of each side, and a random initialisation,
 * fine-tuned on each task at each learning rate; each keeps its best dev accuracy.
 */
final class FinetuneStage {
  private static final Logger LOG = Logger.getLogger(FinetuneStage.class.getName());

  private FinetuneStage() {}

  /**
   * One task and seed: the majority class's dev accuracy, and each side's best fine-tuning ({@code
   * randomInit} is absent in the first reports).
   */
  record Row(
      String task,
      long seed,
      double majorityClassAccuracy,
      Side randomInit,
      Side baseline,
      Side core) {}

  /**
   * One side's best fine-tuning over the learning rates: its task, dev accuracy and examples, the
   * rate that gave it, and every rate's dev accuracy (keyed by the rate as Java prints it).
   */
  record Side(
      String task,
      double accuracy,
      double evalExamples,
      double learningRate,
      Map<String, Double> accuracyPerLearningRate) {}

  /**
   * Fine-tunes the best baseline's and the best CoRe setting's final models (of the first {@code
   * finetuneSeeds} seeds), and a randomly initialised BERT for what pretraining buys, on every
   * task, with the task's majority-class dev accuracy. Results are stored like runs.
   */
  static List<Row> finetune(Settings s, CoreVsBaseline.Stage st) {
    List<Row> out = new ArrayList<>();
    // A model whose checkpoint is re-made (a fresh machine) is re-made once, for every task and
    // rate, and goes through all of them before the next model: a stage cut short between models
    // keeps every fine-tuning it stored and re-makes no finished model's checkpoint again.
    Map<RunKey, BenchRunner.Done> ready = new HashMap<>();
    for (long seed : s.seeds().subList(0, Math.min(s.finetuneSeeds(), s.seeds().size()))) {
      List<Optional<BenchRunner.Done>> models =
          List.of(
              Optional.empty(),
              Optional.of(
                  CoreVsBaseline.find(st.baselines(), st.verdict().bestBaseline().setting(), seed)),
              Optional.of(
                  CoreVsBaseline.find(st.cores(), st.verdict().bestCore().setting(), seed)));
      // sides.get(model).get(task): random init, baseline, CoRe.
      List<List<Side>> sides = new ArrayList<>();
      for (Optional<BenchRunner.Done> model : models) {
        sides.add(
            s.finetunes().stream()
                .map(f -> best(f.lrs(), lr -> finetune(s, f, model, seed, lr, ready)))
                .toList());
      }
      for (int t = 0; t < s.finetunes().size(); t++) {
        Finetune f = s.finetunes().get(t);
        out.add(
            new Row(
                f.name(),
                seed,
                majorityClass(f),
                sides.get(0).get(t),
                sides.get(1).get(t),
                sides.get(2).get(t)));
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

  /** One side's fine-tuning at each lr: the one with the best dev accuracy. */
  static Side best(List<Double> lrs, DoubleFunction<FineTuner.Results> run) {
    FineTuner.Results best = null;
    double bestLr = Double.NaN;
    Map<String, Double> perLr = new LinkedHashMap<>();
    for (double lr : lrs) {
      FineTuner.Results r = run.apply(lr);
      perLr.put(String.valueOf(lr), r.metric("accuracy"));
      if (best == null || r.metric("accuracy") > best.metric("accuracy")) {
        best = r;
        bestLr = lr;
      }
    }
    return new Side(
        best.task(), best.metric("accuracy"), best.metric("eval_examples"), bestLr, perLr);
  }

  /** One fine-tuning of {@code model}'s final checkpoint, or of a random initialisation. */
  private static FineTuner.Results finetune(
      Settings s,
      Finetune f,
      Optional<BenchRunner.Done> model,
      long seed,
      double lr,
      Map<RunKey, BenchRunner.Done> ready) {
    FinetuneKey key =
        new FinetuneKey(
            f.name(),
            f.dataDir().toString(),
            f.vocab().toString(),
            f.epochs(),
            lr,
            f.seq(),
            seed,
            model.map(BenchRunner.Done::key).orElse(null),
            model.isPresent() ? null : RunKey.model(s.cfg(), true));
    String name =
        String.format(
            Locale.ROOT,
            "finetune-%s-%s-lr%.0e",
            f.name(),
            model.map(d -> d.key().name()).orElse("random-init-s" + seed),
            lr);
    Optional<FineTuner.Results> stored = s.store().find(name, key, FineTuner.Results.class);
    if (stored.isPresent()) {
      return stored.get();
    }
    Optional<BenchRunner.Done> trained =
        model.map(d -> ready.computeIfAbsent(d.key(), k -> BenchRunner.withCheckpoint(s, d)));
    LOG.info(
        "fine-tuning "
            + trained
                .map(d -> d.key().name() + " (" + d.checkpoint().orElseThrow() + ")")
                .orElse("a random initialisation")
            + " on "
            + f.name()
            + " at lr "
            + lr);
    FineTuner.Results result =
        FineTuner.run(
            new FineTuner.Settings(
                GlueTask.SST2,
                f.dataDir(),
                trained.flatMap(BenchRunner.Done::checkpoint),
                trained.map(BenchRunner.Done::cfg).orElse(s.cfg()),
                f.vocab(),
                BenchRunner.fresh(s.workDir().resolve(name)),
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
}
