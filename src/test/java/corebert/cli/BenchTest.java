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

/** The benchmarks write their JSON and PNG; the timings themselves are measured, not asserted. */
class BenchTest {
  @TempDir Path dir;

  @Test
  void stepBenchmarkWritesResultsAndPlot() throws Exception {
    Path cfg =
        Files.writeString(
            dir.resolve("micro.json"),
            "{\"vocab_size\": 100, \"hidden_size\": 16, \"num_hidden_layers\": 1,"
                + " \"num_attention_heads\": 2, \"intermediate_size\": 32,"
                + " \"max_position_embeddings\": 32,"
                + " \"relaxed\": {\"attention\": \"linear_elu\", \"ffn_rank\": 4}}");
    Path prefix = dir.resolve("bench");
    Cli.ok(
        Cli.run(
            "bench", "step", "--config", cfg.toString(), "--seqs", "16,32", "--batches", "2,1",
            "--steps", "1", "--warmup", "0", "--output", prefix.toString()));
    Map<String, Object> json = Json.parseObject(Files.readString(Path.of(prefix + ".json")));
    assertTrue(((String) json.get("command")).startsWith("bin/corebert bench step"));
    assertEquals(4, ((List<?>) json.get("results")).size());
    assertEquals(2, ((Map<?, ?>) json.get("relaxed_over_full_examples_per_sec")).size());
    assertTrue(((Number) json.get("matmul_peak_gflops")).doubleValue() > 0);
    assertPng(Path.of(prefix + ".png"));
    assertEquals(CoreBert.EXIT_USAGE, Cli.run("bench", "nothing", "--config", cfg.toString()).code());
  }

  @Test
  void coreVsBaselineWritesCurvesSpeedupAndPlot() throws Exception {
    BrownFixture f = BrownFixture.get();
    Path prefix = dir.resolve("cvb");
    String out =
        Cli.ok(
            Cli.run(
                "bench", "core-vs-baseline", "--config", f.config.toString(), "--input",
                f.trainGlob(), "--eval-input", f.evalGlob(), "--time-budget", "8", "--eval-every",
                "3", "--batch-size", "8", "--warmup-steps", "10", "--ffn-ranks", "8,16",
                "--work-dir", dir.resolve("work").toString(), "--output", prefix.toString()));
    assertTrue(out.contains("\"speedup\""), out);
    Map<String, Object> json = Json.parseObject(Files.readString(Path.of(prefix + ".json")));
    assertTrue(json.containsKey("speedup"));
    Map<?, ?> baseline = (Map<?, ?>) json.get("baseline");
    List<?> baseCurve = (List<?>) baseline.get("curve");
    assertTrue(baseCurve.size() >= 2, "evaluated along the way: " + baseCurve);
    // The target is the baseline's own last held-out loss.
    assertEquals(
        ((Number) ((Map<?, ?>) baseCurve.get(baseCurve.size() - 1)).get("mlm_loss")).doubleValue(),
        ((Number) json.get("target_mlm_loss")).doubleValue());
    List<?> runs = (List<?>) json.get("runs");
    assertEquals(2, runs.size());
    for (Object r : runs) {
      List<?> curve = (List<?>) ((Map<?, ?>) r).get("curve");
      assertEquals("relaxed", ((Map<?, ?>) curve.get(0)).get("phase"));
      assertEquals("full", ((Map<?, ?>) curve.get(curve.size() - 1)).get("phase"));
    }
    assertPng(Path.of(prefix + ".png"));
  }

  @Test
  void dataBenchmarkMeasuresEachCorpusSizeAndThreadCount() throws Exception {
    BrownFixture f = BrownFixture.get();
    Path prefix = dir.resolve("data");
    Cli.ok(
        Cli.run(
            "bench", "data", "--input", "data/sample/brown-sample-eval.txt", "--vocab",
            f.vocab.toString(), "--repeats", "1,2", "--threads", "1,2", "--max-seq-length", "64",
            "--work-dir", dir.resolve("work").toString(), "--output", prefix.toString()));
    Map<String, Object> json = Json.parseObject(Files.readString(Path.of(prefix + ".json")));
    List<?> rows = (List<?>) json.get("results");
    assertEquals(4, rows.size());
    Map<?, ?> x1 = (Map<?, ?>) rows.get(0);
    Map<?, ?> x2 = (Map<?, ?>) rows.get(2);
    // Twice the corpus, twice the tokens: the children really read what they were given.
    assertEquals(
        2 * ((Number) x1.get("tokens")).longValue(), ((Number) x2.get("tokens")).longValue(), 2);
    for (Object r : rows) {
      assertTrue(((Number) ((Map<?, ?>) r).get("peak_rss_mb")).doubleValue() > 10, r.toString());
    }
    assertPng(Path.of(prefix + ".png"));
  }

  private static void assertPng(Path png) throws Exception {
    byte[] bytes = Files.readAllBytes(png);
    assertEquals((byte) 0x89, bytes[0]);
    assertEquals('P', bytes[1]);
  }
}
