package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.PretrainingSchema;
import corebert.data.TfRecordReader;
import corebert.train.MetricsLog;
import corebert.train.RunDir;
import corebert.util.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;

/**
 * The foundation's proof of learning: bert-tiny pretrained a few hundred steps on real Brown text
 * must cut its masked-LM loss by a wide margin, and beat the most-frequent-token guess on held-out
 * documents it never saw.
 */
class PretrainLearningTest {
  @TempDir Path out;

  @Test
  void bertTinyLearnsBrown() throws Exception {
    BrownFixture data = BrownFixture.get();
    Cli.ok(
        Cli.run(
            data.pretrain(out.toString()),
            "--steps",
            "700",
            "--batch-size",
            "32",
            "--lr",
            "1e-3",
            "--warmup-steps",
            "300",
            "--log-every",
            "50",
            "--save-every",
            "350"));

    List<Map<String, Object>> log = MetricsLog.read(out.resolve(RunDir.METRICS));
    double firstLoss = ((Number) log.get(0).get("mlm_loss")).doubleValue();
    assertEquals(700L, ((Number) log.get(log.size() - 1).get("step")).longValue());
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
      assertTrue(log.get(0).containsKey(key), "metrics.jsonl lacks " + key);
    }
    try (Stream<Path> files = Files.list(out)) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents")));
    }

    Map<String, Object> eval = Json.parseObject(Cli.run(data.evaluate(out)).lastLine());
    double heldOutLoss = ((Number) eval.get("mlm_loss")).doubleValue();
    double heldOutAccuracy = ((Number) eval.get("mlm_accuracy")).doubleValue();
    double majority = majorityBaseline(data);
    System.err.printf(
        "bert-tiny, 700 steps: MLM loss %.3f at the start, %.3f held out; held-out accuracy %.3f"
            + " vs %.3f for the most frequent token%n",
        firstLoss, heldOutLoss, heldOutAccuracy, majority);
    // ln(3000) = 8.0 at the start; the unigram distribution alone gives about 6.7.
    assertTrue(
        heldOutLoss < firstLoss - 1.5,
        "held-out MLM loss " + heldOutLoss + " vs start " + firstLoss);
    assertTrue(
        heldOutAccuracy > majority + 0.02,
        "held-out MLM accuracy " + heldOutAccuracy + " vs most-frequent-token " + majority);
  }

  /** Held-out accuracy of always guessing the training data's most frequent masked token. */
  private static double majorityBaseline(BrownFixture data) throws IOException {
    Map<Long, Long> trainCounts = maskedLabelCounts(data.trainDir);
    long top =
        trainCounts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    Map<Long, Long> evalCounts = maskedLabelCounts(data.evalDir);
    long total = evalCounts.values().stream().mapToLong(Long::longValue).sum();
    return (double) evalCounts.getOrDefault(top, 0L) / total;
  }

  private static Map<Long, Long> maskedLabelCounts(Path dir) throws IOException {
    Map<Long, Long> counts = new HashMap<>();
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".tfrecord")).toList();
    }
    for (Path file : files) {
      try (TfRecordReader reader = new TfRecordReader(file)) {
        for (byte[] r = reader.next(); r != null; r = reader.next()) {
          Map<String, Feature> f = Example.parseFrom(r).getFeatures().getFeatureMap();
          List<Long> ids = f.get(PretrainingSchema.MASKED_LM_IDS).getInt64List().getValueList();
          List<Float> w = f.get(PretrainingSchema.MASKED_LM_WEIGHTS).getFloatList().getValueList();
          for (int i = 0; i < ids.size(); i++) {
            if (w.get(i) > 0) {
              counts.merge(ids.get(i), 1L, Long::sum);
            }
          }
        }
      }
    }
    return counts;
  }
}
