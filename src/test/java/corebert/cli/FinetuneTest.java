package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bert-tiny pretrained briefly on Brown, then fine-tuned on a SpamAssassin slice in SST-2 format:
 * dev accuracy must clearly beat always answering the majority class (ham).
 */
class FinetuneTest {
  @TempDir Path out;

  @Test
  void spamAssassinBeatsTheMajorityClass() throws Exception {
    BrownFixture data = BrownFixture.get();
    Path pretrained = out.resolve("pretrained");
    Cli.ok(
        Cli.run(
            "pretrain", "--config", data.config.toString(), "--input", data.trainGlob(),
            "--output-dir", pretrained.toString(), "--steps", "200", "--lr", "1e-3",
            "--warmup-steps", "80", "--log-every", "100"));
    Path spam = Path.of("data/sample/spam");
    Map<String, Object> metrics =
        Json.parseObject(
            Cli.run(
                    "finetune", "--task", "sst-2", "--data-dir", spam.toString(), "--checkpoint",
                    pretrained.toString(), "--config", data.config.toString(), "--vocab",
                    data.vocab.toString(), "--output-dir", out.resolve("spam").toString(),
                    "--epochs", "6", "--lr", "5e-4", "--batch-size", "16", "--max-seq-length", "64", "--export")
                .lastLine());
    List<String> dev = Files.readAllLines(spam.resolve("dev.tsv"));
    long ham = dev.stream().skip(1).filter(l -> l.endsWith("\t0")).count();
    double majority = (double) ham / (dev.size() - 1);
    double accuracy = ((Number) metrics.get("accuracy")).doubleValue();
    System.err.printf("SpamAssassin dev accuracy %.3f vs majority class %.3f%n", accuracy, majority);
    assertEquals(200.0, ((Number) metrics.get("eval_examples")).doubleValue());
    assertTrue(accuracy > majority + 0.1, accuracy + " vs majority " + majority);
    assertTrue(Files.exists(out.resolve("spam/eval_results.json")));

    // The exported classifier answers like the fine-tuned model: probabilities of the two classes.
    Path saved = out.resolve("spam/saved_model");
    assertTrue(Files.exists(saved.resolve("assets/vocab.txt")));
    int[][] ids = {{2, 10, 11, 12, 3, 0}, {2, 40, 41, 3, 0, 0}};
    int[][] mask = {{1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 0, 0}};
    try (org.tensorflow.SavedModelBundle model =
            org.tensorflow.SavedModelBundle.load(saved.toString(), "serve");
        org.tensorflow.types.TInt32 i = org.tensorflow.types.TInt32.tensorOf(org.tensorflow.ndarray.StdArrays.ndCopyOf(ids));
        org.tensorflow.types.TInt32 m = org.tensorflow.types.TInt32.tensorOf(org.tensorflow.ndarray.StdArrays.ndCopyOf(mask));
        org.tensorflow.types.TInt32 t = org.tensorflow.types.TInt32.tensorOf(org.tensorflow.ndarray.StdArrays.ndCopyOf(new int[2][6]));
        org.tensorflow.Result r =
            model.function("serving_default")
                .call(Map.of("input_word_ids", i, "input_mask", m, "input_type_ids", t))) {
      org.tensorflow.types.TFloat32 p =
          (org.tensorflow.types.TFloat32) r.get("probabilities").orElseThrow();
      assertEquals(org.tensorflow.ndarray.Shape.of(2, 2), p.shape());
      for (int row = 0; row < 2; row++) {
        assertEquals(1.0, p.getFloat(row, 0) + p.getFloat(row, 1), 1e-5);
      }
    }
  }

  @Test
  void unknownTaskListsTheKnownOnes() {
    Cli.Outcome o =
        Cli.run(
            "finetune", "--task", "squad", "--data-dir", ".", "--checkpoint", ".", "--config",
            "x", "--vocab", "x", "--output-dir", out.toString());
    assertEquals(CoreBert.EXIT_USAGE, o.code());
    assertTrue(o.err().contains("known tasks: cola, sst-2"), o.err());
  }
}
