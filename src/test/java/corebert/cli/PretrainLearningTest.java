package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.train.MetricsLog;
import corebert.train.RunDir;
import corebert.util.JsonMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The foundation's proof of learning: bert-tiny pretrained a few hundred steps on real Brown text
 * must cut its masked-LM loss by a wide margin, and beat the most-frequent-token guess on held-out
 * documents it never saw.
 */
class PretrainLearningTest {
  @Test
  void bertTinyLearnsBrown() throws Exception {
    BrownFixture data = BrownFixture.get();
    // The model FinetuneTest fine-tunes: 700 steps of batch 32 at lr 1e-3, 300 of them warm-up.
    Path out = data.pretrained(700, 300);

    List<MetricsLog.Entry> log = MetricsLog.read(out.resolve(RunDir.METRICS));
    double firstLoss = log.get(0).mlmLoss();
    assertEquals(700L, log.get(log.size() - 1).step());
    // The file's own keys, as DESIGN.md gives them.
    Map<String, Object> firstLine =
        JsonMaps.parseObject(Files.readAllLines(out.resolve(RunDir.METRICS)).get(0));
    for (String key :
        List.of(
            "step",
            "phase",
            "loss",
            "mlm_loss",
            "nsp_loss",
            "mlm_accuracy",
            "lr",
            "examples_per_sec",
            "elapsed_sec")) {
      assertTrue(firstLine.containsKey(key), "metrics.jsonl lacks " + key);
    }
    try (Stream<Path> files = Files.list(out)) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents")));
    }

    Map<String, Object> eval =
        JsonMaps.parseObject(
            Cli.run(data.evaluate(out, "--train-input", data.trainGlob())).lastLine());
    double heldOutLoss = ((Number) eval.get("mlm_loss")).doubleValue();
    double heldOutAccuracy = ((Number) eval.get("mlm_accuracy")).doubleValue();
    // Always guessing the training data's most frequent scored token.
    double majority = ((Number) eval.get("unigram_accuracy")).doubleValue();
    assertEquals("training records", eval.get("unigram_of"));
    System.err.printf(
        "bert-tiny, 700 steps: MLM loss %.3f at the start, %.3f held out; held-out accuracy %.3f"
            + " vs %.3f for the most frequent token; with every scored token masked %.3f"
            + " (accuracy %.3f) vs %.3f for the unigram model%n",
        firstLoss,
        heldOutLoss,
        heldOutAccuracy,
        majority,
        eval.get("mlm_loss_masked"),
        eval.get("mlm_accuracy_masked"),
        eval.get("unigram_loss"));
    // ln(3000) = 8.0 at the start; the unigram distribution alone gives about 6.7.
    assertTrue(
        heldOutLoss < firstLoss - 1.5,
        "held-out MLM loss " + heldOutLoss + " vs start " + firstLoss);
    assertTrue(
        heldOutAccuracy > majority + 0.02,
        "held-out MLM accuracy " + heldOutAccuracy + " vs most-frequent-token " + majority);
  }
}
