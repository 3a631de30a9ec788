package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.PretrainingSchema;
import corebert.data.TfRecordReader;
import corebert.data.TfRecordWriter;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import corebert.train.MetricsLog;
import corebert.train.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.FloatList;

/** Crash safety, determinism and the NaN guard, on real Brown data with bert-tiny. */
class ReliabilityTest {
  @TempDir Path tmp;

  @Test
  void sameSeedSameDataGiveIdenticalLosses() {
    BrownFixture data = BrownFixture.get();
    double[][] losses = new double[2][];
    for (int run = 0; run < 2; run++) {
      Path out = tmp.resolve("run" + run);
      Cli.ok(
          Cli.run(
              data.pretrain(out.toString()), "--steps", "12", "--log-every", "1", "--seed", "7"));
      losses[run] = Cli.losses(out);
    }
    assertEquals(12, losses[0].length);
    assertArrayEquals(losses[0], losses[1], 0.0);
  }

  @Test
  void nonFiniteStepsAreSkippedThenStopNamingTheLastGoodCheckpoint() throws Exception {
    BrownFixture data = BrownFixture.get();
    Path out = tmp.resolve("out");
    Cli.ok(Cli.run(data.pretrain(out.toString()), "--steps", "4", "--log-every", "1"));
    Path good = Checkpoints.latest(out).orElseThrow();
    byte[] goodIndex = Files.readAllBytes(Path.of(good + ".index"));

    // The same records with NaN prediction weights: every loss is NaN.
    Path poisoned = tmp.resolve("nan.tfrecord");
    try (TfRecordReader in =
            new TfRecordReader(data.trainDir.resolve("part-00000-of-00002.tfrecord"));
        TfRecordWriter w = new TfRecordWriter(poisoned)) {
      for (int i = 0; i < 200; i++) {
        Example ex = Example.parseFrom(in.next());
        int n =
            ex.getFeatures()
                .getFeatureOrThrow(PretrainingSchema.MASKED_LM_WEIGHTS)
                .getFloatList()
                .getValueCount();
        FloatList.Builder nan = FloatList.newBuilder();
        for (int j = 0; j < n; j++) {
          nan.addValue(Float.NaN);
        }
        w.write(
            ex.toBuilder()
                .setFeatures(
                    ex.getFeatures().toBuilder()
                        .putFeature(
                            PretrainingSchema.MASKED_LM_WEIGHTS,
                            Feature.newBuilder().setFloatList(nan).build()))
                .build()
                .toByteArray());
      }
    }
    Cli.Outcome o =
        Cli.run(
            data.pretrainOn(poisoned.toString(), out.toString()),
            "--steps",
            "10",
            "--max-bad-steps",
            "3");
    assertEquals(CoreBert.EXIT_RUNTIME, o.code(), o.err());
    assertTrue(o.err().contains("3 non-finite steps in a row at step 5"), o.err());
    assertTrue(o.err().contains("last good checkpoint: " + good), o.err());
    assertEquals(good, Checkpoints.latest(out).orElseThrow(), "no checkpoint after the bad steps");
    assertArrayEquals(goodIndex, Files.readAllBytes(Path.of(good + ".index")));
  }

  /**
   * Kills a training process with SIGKILL three times (once while a checkpoint is being written)
   * and resumes it each time: the run still ends at its step count, every checkpoint left behind
   * loads, metrics.jsonl has every step exactly once, and (dropout off, so the only state is in the
   * checkpoint) its losses equal an uninterrupted run's, across epoch ends too: the resumed run
   * continues at the same record.
   */
  @Test
  void survivesSigkillAnywhereIncludingDuringACheckpointWrite() throws Exception {
    BrownFixture data = BrownFixture.get();
    Path noDropout = data.noDropout(tmp);
    Path out = tmp.resolve("crash");
    // 321 held-out records: 10 batches of 32 an epoch, so 60 steps cross five epoch ends.
    List<String> args =
        List.of(
            "pretrain",
            "--config",
            noDropout.toString(),
            "--input",
            data.evalDir.toAbsolutePath() + "/*.tfrecord",
            "--steps",
            "60",
            "--log-every",
            "1",
            "--save-every",
            "3",
            "--keep-checkpoints",
            "50",
            "--shuffle-buffer",
            "64");
    List<String> command = new ArrayList<>(args);
    command.addAll(List.of("--output-dir", out.toString()));
    Random random = new Random(3);
    for (int kill = 0; kill < 3; kill++) {
      Process p = Cli.start(tmp.resolve("log" + kill + ".txt"), command);
      if (kill == 1) {
        Cli.waitFor(() -> tempCheckpointExists(out), p, 60_000);
      } else {
        Cli.waitFor(() -> Checkpoints.latest(out).isPresent(), p, 60_000);
        Thread.sleep(200 + random.nextInt(1500));
      }
      p.destroyForcibly().waitFor(); // SIGKILL
    }
    Process last = Cli.start(tmp.resolve("log-final.txt"), command);
    assertTrue(last.waitFor(5, TimeUnit.MINUTES));
    assertEquals(0, last.exitValue(), Files.readString(tmp.resolve("log-final.txt")));

    List<Long> steps = new ArrayList<>();
    MetricsLog.read(out.resolve(RunDir.METRICS)).forEach(r -> steps.add(r.step()));
    for (int i = 0; i < steps.size(); i++) {
      assertEquals(i + 1L, steps.get(i), "metrics.jsonl steps: " + steps);
    }
    assertEquals(60, steps.size());
    BertConfig cfg = BertConfig.fromJsonFile(noDropout);
    List<Path> left;
    try (Stream<Path> s = Files.list(out)) {
      left = s.filter(f -> f.toString().endsWith(".index")).toList();
    }
    assertFalse(left.isEmpty());
    for (Path index : left) {
      String prefix = index.toString().replaceAll("\\.index$", "");
      try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.FULL)) {
        g.restore(prefix); // throws if any checkpoint left behind is broken
      }
    }
    assertEquals(60, Checkpoints.stepOf(Checkpoints.latest(out).orElseThrow()));

    Path reference = tmp.resolve("uninterrupted");
    List<String> straight = new ArrayList<>(args);
    straight.addAll(List.of("--output-dir", reference.toString()));
    Cli.ok(Cli.run(straight.toArray(String[]::new)));
    assertArrayEquals(Cli.losses(reference), Cli.losses(out), 1e-5);
  }

  /** Thousands of small steps: resident memory (native TF memory included) stays flat. */
  @Test
  void residentMemoryStaysFlatOverManySteps() throws Exception {
    BrownFixture data = BrownFixture.get();
    Path micro =
        data.configWith(
            tmp,
            "micro.json",
            "hidden_size",
            "128",
            "16",
            "num_hidden_layers",
            "2",
            "1",
            "intermediate_size",
            "512",
            "32");
    Path out = tmp.resolve("long");
    Cli.ok(
        Cli.run(
            BrownFixture.pretrainArgs(micro, data.evalGlob(), out.toString()),
            "--steps",
            "2000",
            "--batch-size",
            "4",
            "--log-every",
            "250",
            "--save-every",
            "100000"));
    List<MetricsLog.Entry> log = MetricsLog.read(out.resolve(RunDir.METRICS));
    double early = rss(log, 500);
    double late = rss(log, 2000);
    System.err.printf("resident memory: %.1f MB at step 500, %.1f MB at step 2000%n", early, late);
    assertTrue(late - early < 40, "RSS grew from " + early + " to " + late + " MB");
  }

  private static double rss(List<MetricsLog.Entry> log, long step) {
    return log.stream()
        .filter(r -> r.step() == step)
        .mapToDouble(MetricsLog.Entry::rssMb)
        .findFirst()
        .orElseThrow();
  }

  private static boolean tempCheckpointExists(Path dir) {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.anyMatch(p -> p.getFileName().toString().startsWith(".tmp-model.ckpt"));
    } catch (Exception e) {
      return false; // the directory changed under us; poll again
    }
  }
}
