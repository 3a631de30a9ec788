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

/** `bench step` writes its JSON and PNG; the numbers themselves are measured, not asserted. */
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
    byte[] png = Files.readAllBytes(Path.of(prefix + ".png"));
    assertEquals((byte) 0x89, png[0]);
    assertEquals('P', png[1]);
    assertEquals(CoreBert.EXIT_USAGE, Cli.run("bench", "nothing", "--config", cfg.toString()).code());
  }
}
