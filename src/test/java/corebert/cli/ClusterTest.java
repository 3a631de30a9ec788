package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.train.Checkpoints;
import corebert.train.RunDir;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Training over TensorFlow's gRPC runtime: two worker processes on loopback ports, with chief-held
 * variables (in-graph replication from task 0) or collective all-reduce (every task trains its own
 * replica). Either must compute what one process computes on the same global batch, refuse a port
 * that is taken, and survive a worker's death as a clear error plus a checkpoint that the same
 * command resumes from.
 */
class ClusterTest {
  @TempDir Path dir;

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static String cluster() throws IOException {
    return "localhost:" + freePort() + ",localhost:" + freePort();
  }

  private static List<String> pretrain(
      Path config, Path out, int steps, String cluster, int task, String mode) {
    List<String> args =
        new ArrayList<>(
            BrownFixture.pretrainArgs(config, BrownFixture.get().trainGlob(), out.toString()));
    args.addAll(List.of("--steps", String.valueOf(steps), "--save-every", "10"));
    args.addAll(DataParallelTest.EXACT);
    args.addAll(clusterArgs(cluster, task, mode));
    return args;
  }

  /** {@code mode}: chief, collective, or "collective bf16" (its gradients travel in bf16). */
  private static List<String> clusterArgs(String cluster, int task, String mode) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--cluster",
                cluster,
                "--task",
                String.valueOf(task),
                "--worker-timeout",
                "20",
                "--all-reduce",
                mode.split(" ")[0]));
    if (mode.endsWith(" bf16")) {
      args.addAll(List.of("--gradient-precision", "bf16"));
    }
    return args;
  }

  /** Runs pretrain's task 1 and task 0 as processes; returns task 0's exit code. */
  private int runCluster(Path config, Path out, int steps, String cluster, String mode, String tag)
      throws Exception {
    return runCluster(task -> pretrain(config, out, steps, cluster, task, mode), tag);
  }

  /** What task 0's log says about how the batch was split. */
  private static String replication(String mode) {
    return mode.startsWith("collective")
        ? "on each of 2 tasks (collective all-reduce)"
        : "2 tower(s)";
  }

  /** Runs task 1 and task 0 of a command as processes; returns task 0's exit code. */
  private int runCluster(IntFunction<List<String>> argsOfTask, String tag) throws Exception {
    Process worker = Cli.start(dir.resolve(tag + "-task1.log"), argsOfTask.apply(1));
    Process chief = Cli.start(dir.resolve(tag + "-task0.log"), argsOfTask.apply(0));
    assertTrue(chief.waitFor(5, TimeUnit.MINUTES), "the chief did not finish");
    // The worker notices that the chief is gone and exits by itself.
    assertTrue(worker.waitFor(1, TimeUnit.MINUTES), "task 1 did not stop after the chief");
    assertEquals(0, worker.exitValue(), Files.readString(dir.resolve(tag + "-task1.log")));
    return chief.exitValue();
  }

  /**
   * How far bf16 gradients may move the losses of {@link DataParallelTest#STEPS} steps from fp32's:
   * each gradient is rounded to bf16's 8 bits, and the ring's one addition rounds again.
   */
  static final double BF16_GRADIENTS_TOLERANCE = 5e-4;

  @ParameterizedTest
  @ValueSource(strings = {"chief", "collective", "collective bf16"})
  void twoWorkersMatchOneProcessAtTheSameGlobalBatch(String mode) throws Exception {
    Path cfg = BrownFixture.get().noDropout(dir);
    // Each worker reads its own half of the files; one process reading the same two shards
    // (--input-shards 2) sees the same global batches.
    double[] single = DataParallelTest.train(dir.resolve("single"), cfg, "--input-shards", "2");
    Path out = dir.resolve("cluster");
    int code = runCluster(cfg, out, DataParallelTest.STEPS, cluster(), mode, "match");
    String log = Files.readString(dir.resolve("match-task0.log"));
    assertEquals(0, code, log);
    assertTrue(log.contains(replication(mode)), log);
    double[] losses = Cli.losses(out);
    assertEquals(DataParallelTest.STEPS, losses.length);
    double tolerance =
        switch (mode) {
          case "chief" -> 2e-4;
          case "collective" -> 1e-5;
          default -> BF16_GRADIENTS_TOLERANCE;
        };
    double largest = 0;
    for (int i = 0; i < losses.length; i++) {
      assertEquals(single[i], losses[i], tolerance, mode + ", step " + (i + 1));
      largest = Math.max(largest, Math.abs(single[i] - losses[i]));
    }
    System.out.println(mode + ": largest loss difference from one process " + largest);
    if (mode.endsWith("bf16")) {
      // The first step's loss comes before any update: only the gradients differ.
      assertEquals(single[0], losses[0], 1e-5, "bf16 gradients, step 1");
      assertTrue(log.contains("gradients travel in bf16"), log);
    }
    if (mode.startsWith("collective")) {
      // Task 1 trained too, in step, and wrote nothing.
      String worker = Files.readString(dir.resolve("match-task1.log"));
      assertTrue(worker.contains("every variable broadcast from the chief; step 0"), worker);
      assertTrue(worker.contains("step " + DataParallelTest.STEPS + ":"), worker);
    }
  }

  /** CoRe on bert-tiny: {@code relaxed} steps, surgery, {@code full} steps of batch 8. */
  private static List<String> core(Path config, Path out, int relaxed, int full, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "core",
                "--config",
                config.toString(),
                "--input",
                BrownFixture.get().trainGlob(),
                "--output-dir",
                out.toString(),
                "--relaxed-steps",
                String.valueOf(relaxed),
                "--full-steps",
                String.valueOf(full),
                "--full-warmup-steps",
                "0"));
    args.addAll(DataParallelTest.EXACT);
    args.addAll(List.of(extra));
    return args;
  }

  @ParameterizedTest
  @ValueSource(strings = {"chief", "collective"})
  void coreOnTwoWorkersMatchesOneProcessThroughBothPhases(String mode) throws Exception {
    Path cfg = BrownFixture.get().noDropout(dir);
    Cli.ok(
        Cli.run(
            core(cfg, dir.resolve("single"), 2, 2, "--input-shards", "2").toArray(String[]::new)));
    double[] single = Cli.losses(dir.resolve("single"));
    assertEquals(4, single.length, "2 relaxed + 2 full steps logged");
    Path out = dir.resolve("cluster");
    String spec = cluster();
    int code =
        runCluster(
            task -> core(cfg, out, 2, 2, clusterArgs(spec, task, mode).toArray(String[]::new)),
            "core");
    String log = Files.readString(dir.resolve("core-task0.log"));
    assertEquals(0, code, log);
    assertTrue(log.contains("CoRe surgery: relaxed -> full at step 2"), log);
    assertTrue(
        log.contains(replication(mode)), "both phases replicate over the two workers: " + log);
    double[] cluster = Cli.losses(out);
    assertEquals(single.length, cluster.length, "steps logged");
    for (int i = 0; i < single.length; i++) {
      assertEquals(single[i], cluster[i], 2e-4, "step " + (i + 1));
    }
    assertTrue(Files.exists(out.resolve("full").resolve("surgery.json")));
  }

  /**
   * Starts both tasks, kills task 1 (SIGKILL) once {@code checkpoints} holds step {@code step}, and
   * checks that the chief stops with the last checkpoint named; returns that checkpoint's step.
   */
  private long killWorkerOnceSaved(
      IntFunction<List<String>> argsOfTask, Path checkpoints, long step, String tag)
      throws Exception {
    Process worker = Cli.start(dir.resolve(tag + "-task1.log"), argsOfTask.apply(1));
    Process chief = Cli.start(dir.resolve(tag + "-task0.log"), argsOfTask.apply(0));
    Cli.waitFor(
        () -> Checkpoints.latest(checkpoints).map(Checkpoints::stepOf).orElse(0L) >= step,
        chief,
        180_000);
    worker.destroyForcibly().waitFor();
    assertTrue(chief.waitFor(2, TimeUnit.MINUTES), "the chief hung on the dead worker");
    String log = Files.readString(dir.resolve(tag + "-task0.log"));
    assertEquals(CoreBert.EXIT_RUNTIME, chief.exitValue(), log);
    assertTrue(
        log.contains("a worker died or stopped answering; last checkpoint: " + checkpoints), log);
    return Checkpoints.stepOf(Checkpoints.latest(checkpoints).orElseThrow());
  }

  @Test
  void aPortInUseIsAClearError() throws Exception {
    try (ServerSocket taken = new ServerSocket(0)) {
      String spec = "localhost:" + taken.getLocalPort() + ",localhost:" + freePort();
      Cli.Outcome o =
          Cli.run(
              pretrain(BrownFixture.get().config, dir.resolve("x"), 1, spec, 0, "chief")
                  .toArray(String[]::new));
      assertEquals(CoreBert.EXIT_RUNTIME, o.code());
      assertTrue(o.err().contains("port " + taken.getLocalPort() + " is in use"), o.err());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"chief", "collective"})
  void aDeadWorkerStopsTrainingWithACheckpointThatResumes(String mode) throws Exception {
    Path cfg = BrownFixture.get().config;
    Path out = dir.resolve("dead");
    String spec = cluster();
    int steps = 300;
    long saved =
        killWorkerOnceSaved(t -> pretrain(cfg, out, steps, spec, t, mode), out, 20, "dead");

    // The same command on both tasks resumes from that checkpoint and finishes.
    assertEquals(
        0,
        runCluster(cfg, out, steps, spec, mode, "resume"),
        Files.readString(dir.resolve("resume-task0.log")));
    assertTrue(Files.readString(dir.resolve("resume-task0.log")).contains("model.ckpt-" + saved));
    assertEquals(steps, Checkpoints.stepOf(Checkpoints.latest(out).orElseThrow()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"chief", "collective"})
  void coreOnAClusterResumesPhaseTwoAfterAWorkerDies(String mode) throws Exception {
    Path cfg = BrownFixture.get().config;
    Path out = dir.resolve("core-dead");
    Path full = out.resolve(RunDir.CORE_FULL);
    // Task 1 has an output directory of its own: it needs none of the chief's files.
    Path otherOut = dir.resolve("core-dead-task1");
    String spec = cluster();
    IntFunction<List<String>> task =
        t ->
            core(
                cfg,
                t == 0 ? out : otherOut,
                30,
                300,
                Stream.concat(Stream.of("--save-every", "10"), clusterArgs(spec, t, mode).stream())
                    .toArray(String[]::new));
    // Kill task 1 in phase 2, once it has checkpointed past surgery's step.
    long saved = killWorkerOnceSaved(task, full, 50, "core-dead");

    // The same command on both tasks skips phase 1 and surgery and resumes phase 2.
    assertEquals(
        0, runCluster(task, "core-resume"), Files.readString(dir.resolve("core-resume-task0.log")));
    String resumed = Files.readString(dir.resolve("core-resume-task0.log"));
    assertTrue(resumed.contains("surgery already done; resuming phase 2"), resumed);
    assertTrue(resumed.contains("model.ckpt-" + saved), resumed);
    assertEquals(330, Checkpoints.stepOf(Checkpoints.latest(full).orElseThrow()));
    if (mode.equals("collective")) {
      String follower = Files.readString(dir.resolve("core-resume-task1.log"));
      assertTrue(follower.contains("the chief resumes phase 2, which began at step 30"), follower);
    }
    assertTrue(
        Checkpoints.latest(otherOut.resolve(RunDir.CORE_FULL)).isEmpty()
            && Checkpoints.latest(otherOut.resolve(RunDir.CORE_RELAXED)).isEmpty(),
        "task 1 wrote no checkpoint");
  }
}
