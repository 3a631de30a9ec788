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
import java.util.logging.Logger;

/**
 * The benchmark's downstream check: the best final model of each side, and a random initialisation,
 * fine-tuned on each task at each learning rate; each keeps its best dev accuracy.
 */
final class FinetuneStage {
  private static final Logger LOG = Logger.getLogger(FinetuneStage.class.getName());

  private FinetuneStage() {}

  /**
   * Fine-tunes the best baseline's and the best CoRe setting's final models (of the first {@code
   * finetuneSeeds} seeds), and a randomly initialised BERT for what pretraining buys, on every
   * task, with the task's majority-class dev accuracy. Results are stored like runs.
   */
  static List<Map<String, Object>> finetune(Settings s, CoreVsBaseline.Stage st) {
    List<Map<String, Object>> out = new ArrayList<>();
    // A model whose checkpoint is re-made (a fresh machine) is re-made once, for every task and
    // rate.
    Map<RunKey, BenchRunner.Done> ready = new HashMap<>();
    for (long seed : s.seeds().subList(0, Math.min(s.finetuneSeeds(), s.seeds().size()))) {
      BenchRunner.Done base =
          CoreVsBaseline.find(st.baselines(), st.verdict().bestBaseline().setting(), seed);
      BenchRunner.Done core =
          CoreVsBaseline.find(st.cores(), st.verdict().bestCore().setting(), seed);
      for (Finetune f : s.finetunes()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", f.name());
        m.put("seed", seed);
        m.put("majority_class_accuracy", majorityClass(f));
        m.put(
            "random_init", best(f.lrs(), lr -> finetune(s, f, Optional.empty(), seed, lr, ready)));
        m.put("baseline", best(f.lrs(), lr -> finetune(s, f, Optional.of(base), seed, lr, ready)));
        m.put("core", best(f.lrs(), lr -> finetune(s, f, Optional.of(core), seed, lr, ready)));
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
    Optional<Map> stored = s.store().find(name, key, Map.class);
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
    Map<String, Object> result =
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

  private static double num(Map<?, ?> m, String key) {
    return ((Number) m.get(key)).doubleValue();
  }
}
