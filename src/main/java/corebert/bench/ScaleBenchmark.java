package corebert.bench;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.ModelStats;
import corebert.model.Precision;
import corebert.train.Checkpoints;
import corebert.train.MetricsLog;
import corebert.train.RunDir;
import corebert.util.Chart;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * `bench scale`: pretraining on a 1-worker and a 2-worker cluster on loopback, each worker a
 * `corebert pretrain` process pinned to its own core ({@code taskset}), at the same batch per
 * worker, for each way of combining gradients ({@code --all-reduce}, and the type they travel in)
 * and each batch per worker. Reports examples/s, the scaling efficiency (throughput of 2 / (2 ×
 * throughput of 1)), the bytes the tasks move per step, read from the loopback interface's counter,
 * and the chief's CPU time per step, from its {@code metrics.jsonl} over the same steady steps:
 * every two-worker cluster runs N steps and again N/2 steps, and the difference of their traffic
 * per step cancels set-up.
 */
public final class ScaleBenchmark {
  private static final Logger LOG = Logger.getLogger(ScaleBenchmark.class.getName());

  /**
   * @param batchesPerWorker sequences per worker and step (the global batch is workers × this)
   * @param modes the ways of combining gradients to compare
   * @param steps steps of the throughput runs (the bytes run takes half as many again)
   * @param main corebert's main class, which each worker process runs
   */
  public record Settings(
      Path config,
      String inputGlob,
      List<Integer> batchesPerWorker,
      List<Mode> modes,
      int steps,
      int logEvery,
      Path workDir,
      Path prefix,
      String command,
      Class<?> main) {}

  /**
   * An {@code --all-reduce} mode and the {@code --gradient-precision} the gradients travel in
   * (fp32, or bf16 with collective).
   */
  public record Mode(String allReduce, String gradientPrecision) {
    String label() {
      return gradientPrecision.equals("fp32") ? allReduce : allReduce + " " + gradientPrecision;
    }
  }

  /**
   * One cluster run: its throughput in steady state, the loopback bytes it moved, and over the same
   * steady steps the chief's CPU seconds per step and the cores they kept busy (per second).
   */
  record Run(
      String allReduce,
      String gradientPrecision,
      int workers,
      int batchPerWorker,
      int globalBatch,
      int steps,
      double examplesPerSec,
      long loopbackBytes,
      double chiefCpuSecPerStep,
      double chiefCoresBusy) {}

  /**
   * Two workers in one mode at one batch per worker, against one worker at that batch.
   *
   * @param bytesPerStep loopback bytes per step, set-up traffic cancelled: every byte any task sent
   * @param bytesPerParameterPerWorker {@code bytesPerStep} / parameters / workers: what a worker
   *     sends per parameter and step (it receives as much)
   * @param cpuSecPerStepOne one worker's CPU seconds per step, all its threads
   * @param cpuSecPerStepTwo the chief's of two workers (with collective all-reduce every task does
   *     the same work): what it costs over one worker's is the all-reduce's serialising, copying
   *     and adding, and gRPC's
   * @param coresBusyOne one worker's CPU seconds per second of its steps: 1 is its core saturated
   * @param coresBusyTwo the same for the chief of two workers: below 1, it waits on the other
   */
  record Comparison(
      String allReduce,
      String gradientPrecision,
      int batchPerWorker,
      double examplesPerSecOne,
      double examplesPerSecTwo,
      double scalingEfficiency,
      double bytesPerStep,
      double bytesPerParameterPerWorker,
      double cpuSecPerStepOne,
      double cpuSecPerStepTwo,
      double coresBusyOne,
      double coresBusyTwo) {
    String label() {
      return new Mode(allReduce, gradientPrecision).label();
    }
  }

  /**
   * `bench scale`'s {@code PREFIX.json}.
   *
   * @param weightsAndGradientsBytesPerStep what chief-held variables move between two workers: 8
   *     per parameter
   */
  record Report(
      String command,
      Machine.Facts machine,
      String config,
      long parameters,
      boolean pinnedToOwnCore,
      List<Run> runs,
      List<Comparison> comparisons,
      long weightsAndGradientsBytesPerStep,
      double targetEfficiency) {}

  private ScaleBenchmark() {}

  /** Runs one process and the workers side by side, and writes PREFIX.json and PREFIX.png. */
  public static void run(Settings s) throws IOException, InterruptedException {
    Files.createDirectories(s.workDir());
    boolean pinned =
        Files.isExecutable(Path.of("/usr/bin/taskset"))
            && Runtime.getRuntime().availableProcessors() >= 2;
    if (!pinned) {
      LOG.warning("no /usr/bin/taskset or fewer than 2 cores: workers are not pinned to cores");
    }
    long params =
        ModelStats.of(BertConfig.fromJsonFile(s.config()), Variant.FULL, 128, 0.15).parameters();
    List<Run> runs = new ArrayList<>();
    List<Comparison> comparisons = new ArrayList<>();
    for (int b : s.batchesPerWorker()) {
      // One worker has no one to reduce with: its run is every mode's reference.
      Mode alone = new Mode("chief", "fp32");
      Run one = cluster(s, alone, b, 1, s.steps(), pinned, "w1-b" + b);
      runs.add(one);
      for (Mode mode : s.modes()) {
        String tag = mode.label().replace(' ', '-') + "-b" + b;
        Run two = cluster(s, mode, b, 2, s.steps(), pinned, "w2-" + tag);
        Run twoShort = cluster(s, mode, b, 2, s.steps() / 2, pinned, "w2-short-" + tag);
        runs.add(two);
        double bytesPerStep =
            (double) (two.loopbackBytes() - twoShort.loopbackBytes())
                / (two.steps() - twoShort.steps());
        comparisons.add(
            new Comparison(
                mode.allReduce(),
                mode.gradientPrecision(),
                b,
                one.examplesPerSec(),
                two.examplesPerSec(),
                two.examplesPerSec() / (2 * one.examplesPerSec()),
                bytesPerStep,
                bytesPerStep / params / 2,
                one.chiefCpuSecPerStep(),
                two.chiefCpuSecPerStep(),
                one.chiefCoresBusy(),
                two.chiefCoresBusy()));
      }
    }
    Results.write(
        s.prefix(),
        new Report(
            s.command(),
            Machine.facts(false, Precision.FP32),
            s.config().toString(),
            params,
            pinned,
            runs,
            comparisons,
            8 * params,
            0.8));
    chart(s, comparisons);
  }

  /** Examples/s of one and two workers, per mode and batch, against linear scaling. */
  private static void chart(Settings s, List<Comparison> comparisons) {
    List<String> groups = new ArrayList<>();
    double[][] values = new double[comparisons.size()][];
    for (int i = 0; i < comparisons.size(); i++) {
      Comparison c = comparisons.get(i);
      groups.add(
          String.format(
              "%s, %d/worker (eff. %.2f, %.1f B/param)",
              c.label(),
              c.batchPerWorker(),
              c.scalingEfficiency(),
              c.bytesPerParameterPerWorker()));
      values[i] =
          new double[] {c.examplesPerSecOne(), c.examplesPerSecTwo(), 2 * c.examplesPerSecOne()};
      LOG.info(
          String.format(
              "%s, %d per worker: 1 worker %.2f ex/s, 2 workers %.2f ex/s: efficiency %.2f;"
                  + " %.0f bytes per step; CPU s/step per worker, alone %.3f (%.2f cores busy),"
                  + " of two %.3f (%.2f)",
              c.label(),
              c.batchPerWorker(),
              c.examplesPerSecOne(),
              c.examplesPerSecTwo(),
              c.scalingEfficiency(),
              c.bytesPerStep(),
              c.cpuSecPerStepOne(),
              c.coresBusyOne(),
              c.cpuSecPerStepTwo(),
              c.coresBusyTwo()));
    }
    Chart.bars(
        Path.of(s.prefix() + ".png"),
        "pretraining examples/s on loopback: 1 vs 2 workers, each on its own core",
        "examples/s",
        groups,
        List.of("1 worker", "2 workers", "linear scaling"),
        values);
  }

  /** `pretrain` on a {@code workers}-task loopback cluster, task i on core i. */
  private static Run cluster(
      Settings s, Mode mode, int batch, int workers, int steps, boolean pinned, String tag)
      throws IOException, InterruptedException {
    Path out = s.workDir().resolve(tag);
    Checkpoints.deleteRecursively(out);
    List<String> addresses = new ArrayList<>();
    for (int i = 0; i < workers; i++) {
      addresses.add("localhost:" + freePort());
    }
    long bytesBefore = loopbackBytes();
    List<Process> tasks = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    for (int task = workers - 1; task >= 0; task--) { // the chief last, once the others serve
      Path log = s.workDir().resolve(tag + "-task" + task + ".log");
      List<String> prefix =
          pinned ? List.of("/usr/bin/taskset", "-c", String.valueOf(task)) : List.of();
      List<String> args = pretrainArgs(s, mode, batch * workers, steps, out, addresses, task);
      tasks.add(ChildJvm.start(s.main(), prefix, List.of(), Map.of(), args, log));
      logs.add(log);
    }
    for (int i = tasks.size() - 1; i >= 0; i--) { // the chief first: the others stop after it
      ChildJvm.lastLine(tasks.get(i), logs.get(i));
    }
    long bytes = loopbackBytes() - bytesBefore;
    Steady steady = steady(out.resolve(RunDir.METRICS), workers * batch);
    LOG.info(
        String.format(
            "%s, %d worker(s) x %d, %d steps: %.2f examples/s, %,d loopback bytes",
            mode.label(), workers, batch, steps, steady.examplesPerSec(), bytes));
    return new Run(
        mode.allReduce(),
        mode.gradientPrecision(),
        workers,
        batch,
        workers * batch,
        steps,
        steady.examplesPerSec(),
        bytes,
        steady.cpuSecPerStep(),
        steady.coresBusy());
  }

  /** One task's `pretrain` command line in a run of {@code addresses.size()} workers. */
  private static List<String> pretrainArgs(
      Settings s,
      Mode mode,
      int globalBatch,
      int steps,
      Path out,
      List<String> addresses,
      int task) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "pretrain",
                "--config",
                s.config().toString(),
                "--input",
                s.inputGlob(),
                "--output-dir",
                out.toString(),
                "--steps",
                String.valueOf(steps),
                "--batch-size",
                String.valueOf(globalBatch),
                "--warmup-steps",
                "0",
                "--log-every",
                String.valueOf(s.logEvery()),
                "--save-every",
                String.valueOf(Integer.MAX_VALUE),
                // fp32 on every machine: the bytes measured are of fp32 weights and gradients,
                // or of bf16 gradients where asked.
                "--precision",
                "fp32",
                "--cluster",
                String.join(",", addresses),
                "--task",
                String.valueOf(task),
                "--all-reduce",
                mode.allReduce()));
    if (mode.allReduce().equals("collective")) {
      args.addAll(List.of("--gradient-precision", mode.gradientPrecision()));
    }
    return args;
  }

  /** The chief's steady state: examples/s, CPU seconds per step, cores busy. */
  private record Steady(double examplesPerSec, double cpuSecPerStep, double coresBusy) {}

  /** Between the second logged step and the last (the first includes warm-up). */
  private static Steady steady(Path metrics, int batch) {
    List<MetricsLog.Entry> recs = MetricsLog.read(metrics);
    if (recs.size() < 3) {
      throw new IllegalStateException(metrics + ": too few logged steps to time; raise --steps");
    }
    MetricsLog.Entry first = recs.get(1);
    MetricsLog.Entry last = recs.get(recs.size() - 1);
    long steps = last.step() - first.step();
    double sec = last.elapsedSec() - first.elapsedSec();
    double cpu =
        first.cpuSec() == null || last.cpuSec() == null
            ? Double.NaN
            : last.cpuSec() - first.cpuSec();
    return new Steady(steps * batch / sec, cpu / steps, cpu / sec);
  }

  /** Bytes received on the loopback interface so far (Linux's /proc/net/dev). */
  private static long loopbackBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/dev"))) {
        String t = line.strip();
        if (t.startsWith("lo:")) {
          return Long.parseLong(t.substring(3).strip().split("\\s+")[0]);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read /proc/net/dev", e);
    }
    throw new IllegalStateException("/proc/net/dev has no loopback interface");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
