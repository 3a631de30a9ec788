package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.train.Checkpoints;
import corebert.util.JsonMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
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
            "bench",
            "step",
            "--config",
            cfg.toString(),
            "--seqs",
            "16,32",
            "--batches",
            "2,1",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--output",
            prefix.toString()));
    Map<String, Object> json = JsonMaps.parseObject(Files.readString(Path.of(prefix + ".json")));
    assertTrue(((String) json.get("command")).startsWith("bin/corebert bench step"));
    assertEquals(4, ((List<?>) json.get("results")).size());
    assertEquals(2, ((Map<?, ?>) json.get("relaxed_over_full_examples_per_sec")).size());
    assertTrue(((Number) json.get("matmul_peak_gflops")).doubleValue() > 0);
    assertPng(Path.of(prefix + ".png"));
    assertEquals(
        CoreBert.EXIT_USAGE, Cli.run("bench", "nothing", "--config", cfg.toString()).code());
  }

  @Test
  void coreVsBaselineRunsTheFairProtocolAndResumes() throws Exception {
    BrownFixture f = BrownFixture.get();
    Path prefix = dir.resolve("cvb");
    List<String> budget6 =
        Cli.args(
            f.onTrainingShards("bench", "core-vs-baseline"),
            "--eval-input",
            f.evalGlob(),
            "--time-budget",
            "6");
    List<String> args =
        Cli.args(
            budget6,
            "--sweep-budget",
            "4",
            "--eval-every",
            "2",
            "--seeds",
            "1,2",
            "--baseline-lrs",
            "1e-4,1e-3,3e-3",
            "--batch-size",
            "8",
            "--warmup-steps",
            "10",
            "--core",
            "budget=0.8,ffn-rank=8",
            "--core",
            "relaxed-fraction=0.6,ffn-rank=16,attention-rank=8",
            "--work-dir",
            dir.resolve("work").toString(),
            "--run-store",
            dir.resolve("store").toString(),
            "--output",
            prefix.toString());
    String out = Cli.ok(Cli.run(args.toArray(String[]::new)));
    assertTrue(out.contains("\"speedup\""), out);
    Map<String, Object> json = JsonMaps.parseObject(Files.readString(Path.of(prefix + ".json")));
    Map<?, ?> protocol = (Map<?, ?>) json.get("protocol");
    assertEquals(3L, protocol.get("baseline_tuning_runs"));
    assertEquals(2L, protocol.get("core_tuning_runs"));
    assertEquals(true, protocol.get("fair"));

    // The sweep: every setting once, with the first seed; its best lr is the lowest final loss.
    Map<?, ?> sweep = (Map<?, ?>) json.get("sweep");
    List<?> sweepBase = (List<?>) sweep.get("baseline_runs");
    assertEquals(3, sweepBase.size());
    assertEquals(2, ((List<?>) sweep.get("core_runs")).size());
    Map<?, ?> lowest =
        (Map<?, ?>)
            sweepBase.stream()
                .min((a, b) -> Double.compare(finalLoss(a), finalLoss(b)))
                .orElseThrow();
    double bestLr = num(stored(lowest), "learning_rate");
    assertEquals(bestLr, num(sweep.get("best_baseline"), "learning_rate"));

    // The final: the best of each side with every seed; each seed's target is its baseline's end.
    List<?> base = (List<?>) json.get("baseline_runs");
    List<?> core = (List<?>) json.get("core_runs");
    assertEquals(2, base.size());
    assertEquals(2, core.size());
    Map<?, ?> targets = (Map<?, ?>) json.get("targets");
    for (Object r : base) {
      assertEquals(bestLr, num(stored(r), "learning_rate"));
      String seed = String.valueOf(((Number) stored(r).get("seed")).longValue());
      assertEquals(finalLoss(r), ((Number) targets.get(seed)).doubleValue());
    }
    // Each run records where it trained, and the report's machine is theirs.
    Map<?, ?> machine = (Map<?, ?>) stored(base.get(0)).get("machine");
    assertEquals((long) Runtime.getRuntime().availableProcessors(), machine.get("cores"));
    assertEquals(machine, json.get("machine"));
    for (Object r : core) {
      List<?> curve = (List<?>) stored(r).get("curve");
      assertEquals("relaxed", ((Map<?, ?>) curve.get(0)).get("phase"));
      assertEquals("full", ((Map<?, ?>) curve.get(curve.size() - 1)).get("phase"));
    }
    assertPng(Path.of(prefix + ".png"));
    assertPng(Path.of(prefix + "-sweep.png"));

    // A rerun reuses every finished run and reaches the same verdict.
    Cli.Outcome again = Cli.run(args.toArray(String[]::new));
    Cli.ok(again);
    assertTrue(again.err().contains("reusing the finished run"), again.err());
    assertTrue(!again.err().contains("full BERT from scratch"), "a run was trained again");
    Map<String, Object> json2 = JsonMaps.parseObject(Files.readString(Path.of(prefix + ".json")));
    assertEquals(json.get("targets"), json2.get("targets"));
    assertEquals(json.get("speedup_per_seed"), json2.get("speedup_per_seed"));

    // A fresh machine has only the store: no curve is trained again, the two best final
    // checkpoints are re-made from their stored settings for fine-tuning, and a random
    // initialisation is fine-tuned beside them.
    Checkpoints.deleteRecursively(dir.resolve("work"));
    Cli.Outcome fresh =
        Cli.run(
            Cli.args(
                    args,
                    "--finetune-data",
                    "data/sample/spam",
                    "--vocab",
                    f.vocab.toString(),
                    "--finetune-epochs",
                    "1",
                    "--finetune-lr",
                    "1e-4,1e-3",
                    "--finetune-seeds",
                    "1")
                .toArray(String[]::new));
    Cli.ok(fresh);
    assertEquals(
        2,
        fresh.err().split("training it again from its stored settings", -1).length - 1,
        "the best baseline and the best CoRe model, each re-made once for every task and rate");
    Map<String, Object> json3 = JsonMaps.parseObject(Files.readString(Path.of(prefix + ".json")));
    assertEquals(json.get("targets"), json3.get("targets"), "the curves come from the store");
    List<?> finetune = (List<?>) json3.get("finetune");
    assertEquals(1, finetune.size(), "one task, one seed");
    Map<?, ?> row = (Map<?, ?>) finetune.get(0);
    for (String side : List.of("random_init", "baseline", "core")) {
      Map<?, ?> best = (Map<?, ?>) row.get(side);
      assertEquals(2, ((Map<?, ?>) best.get("accuracy_per_learning_rate")).size(), side);
      assertTrue(num(best, "accuracy") >= 0.5, side + ": " + best);
    }

    // CoRe gets no more settings than the baseline has learning rates.
    Cli.Outcome unfair =
        Cli.run(budget6, "--baseline-lrs", "1e-4", "--core", "ffn-rank=8", "--core", "ffn-rank=16");
    assertEquals(CoreBert.EXIT_USAGE, unfair.code());
    assertTrue(unfair.err().contains("no more tuning runs than the baseline"), unfair.err());
  }

  /** A report row's last held-out point's masked loss. */
  private static double finalLoss(Object row) {
    return num(((Map<?, ?>) row).get("last"), "mlm_loss_masked");
  }

  /** A report row's run, as the run store holds it. */
  private static Map<?, ?> stored(Object row) {
    return (Map<?, ?>) ((Map<?, ?>) row).get("run");
  }

  private static double num(Object map, String key) {
    return ((Number) ((Map<?, ?>) map).get(key)).doubleValue();
  }

  @Test
  void dataBenchmarkMeasuresEachCorpusSizeAndThreadCount() throws Exception {
    BrownFixture f = BrownFixture.get();
    Path prefix = dir.resolve("data");
    Cli.ok(
        Cli.run(
            "bench",
            "data",
            "--input",
            "data/sample/brown-sample-eval.txt",
            "--vocab",
            f.vocab.toString(),
            "--repeats",
            "1,2",
            "--threads",
            "1,2",
            "--max-seq-length",
            "64",
            "--work-dir",
            dir.resolve("work").toString(),
            "--output",
            prefix.toString()));
    Map<String, Object> json = JsonMaps.parseObject(Files.readString(Path.of(prefix + ".json")));
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

  @Test
  void scaleRunsOneAndTwoLoopbackWorkersAndMeasuresTheirTraffic() throws Exception {
    BrownFixture f = BrownFixture.get();
    Path prefix = dir.resolve("scale");
    Cli.ok(
        Cli.run(
            f.onTrainingShards("bench", "scale"),
            "--batch-per-worker",
            "2",
            "--all-reduce",
            "chief,collective",
            "--steps",
            "6",
            "--log-every",
            "1",
            "--work-dir",
            dir.resolve("scale-work").toString(),
            "--output",
            prefix.toString()));
    Map<String, Object> json = JsonMaps.parseObject(Files.readString(Path.of(prefix + ".json")));
    // One worker, then two in each mode: chief, collective fp32 and bf16 (the default types).
    assertEquals(4, ((List<?>) json.get("runs")).size());
    List<?> comparisons = (List<?>) json.get("comparisons");
    assertEquals(3, comparisons.size());
    long params = ((Number) json.get("parameters")).longValue();
    Map<String, Double> bytesByMode = new HashMap<>();
    for (Object o : comparisons) {
      Map<?, ?> c = (Map<?, ?>) o;
      String mode = c.get("all_reduce") + " " + c.get("gradient_precision");
      bytesByMode.put(mode, ((Number) c.get("bytes_per_step")).doubleValue());
      // The workers' CPU time per step is reported. (Its size is not checked: three steps of
      // this tiny model are within the set-up's run-to-run noise.)
      for (String k : List.of("cpu_sec_per_step_one", "cpu_sec_per_step_two", "cores_busy_two")) {
        assertTrue(c.get(k) instanceof Number, k + ": " + c);
      }
      if (mode.equals("collective bf16")) {
        continue; // its bytes are checked against fp32's below
      }
      double one = ((Number) c.get("examples_per_sec_one")).doubleValue();
      double two = ((Number) c.get("examples_per_sec_two")).doubleValue();
      assertEquals(two / (2 * one), ((Number) c.get("scaling_efficiency")).doubleValue(), 1e-9);
      // Either way each worker sends about 4 bytes a parameter at two workers: chief-held
      // variables send every fp32 weight one way and every gradient the other; a ring all-reduce
      // sends half the gradients in each of its two phases. The count is the difference of two
      // runs' loopback traffic, so it lands within a few per cent (a clean CI run measured 7.99
      // bytes a parameter in all for chief-held variables).
      double bytes = ((Number) c.get("bytes_per_step")).doubleValue();
      assertTrue(bytes > 7 * params && bytes < 16 * params, c + ": " + params + " parameters");
      assertEquals(
          bytes / params / 2,
          ((Number) c.get("bytes_per_parameter_per_worker")).doubleValue(),
          1e-9);
    }
    // bf16 gradients: half fp32's bytes, but for framing and the small fp32 all-reduces.
    double ratio = bytesByMode.get("collective bf16") / bytesByMode.get("collective fp32");
    assertTrue(ratio > 0.45 && ratio < 0.65, "bf16/fp32 bytes " + ratio + ": " + bytesByMode);
    assertPng(Path.of(prefix + ".png"));
  }

  private static void assertPng(Path png) throws Exception {
    byte[] bytes = Files.readAllBytes(png);
    assertEquals((byte) 0x89, bytes[0]);
    assertEquals('P', bytes[1]);
  }
}
