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
 * worker, for each way of combining gradients ({@code --all-reduce}) and each batch per worker.
 * Reports examples/s, the scaling efficiency (throughput of 2 / (2 × throughput of 1)) and the
 * bytes the tasks move per step, read from the loopback interface's counter: a 2-worker run of N
 * steps and one of N/2 steps, so that set-up traffic cancels.
 */
public final class ScaleBenchmark {
  private static final Logger LOG = Logger.getLogger(ScaleBenchmark.class.getName());

  /**
   * @param batchesPerWorker sequences per worker and step (the global batch is workers × this)
   * @param modes the {@code --all-reduce} modes to compare: chief, collective
   * @param steps steps of the throughput runs (the bytes run takes half as many again)
   * @param main corebert's main class, which each worker process runs
   */
  public record Settings(
      Path config,
      String inputGlob,
      List<Integer> batchesPerWorker,
      List<String> modes,
      int steps,
      int logEvery,
      Path workDir,
      Path prefix,
      String command,
      Class<?> main) {}

  /** One cluster run: its throughput in steady state and the loopback bytes it moved. */
  record Run(
      String allReduce,
      int workers,
      int batchPerWorker,
      int globalBatch,
      int steps,
      double examplesPerSec,
      long loopbackBytes) {}

  /**
   * Two workers in one mode at one batch per worker, against one worker at that batch.
   *
   * @param bytesPerStep loopback bytes per step, set-up traffic cancelled: every byte any task sent
   * @param bytesPerParameterPerWorker {@code bytesPerStep} / parameters / workers: what a worker
   *     sends per parameter and step (it receives as much)
   */
  record Comparison(
      String allReduce,
      int batchPerWorker,
      double examplesPerSecOne,
      double examplesPerSecTwo,
      double scalingEfficiency,
      double bytesPerStep,
      double bytesPerParameterPerWorker) {}

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
      Run one = cluster(s, "chief", b, 1, s.steps(), pinned, "w1-b" + b);
      runs.add(one);
      for (String mode : s.modes()) {
        String tag = mode + "-b" + b;
        Run two = cluster(s, mode, b, 2, s.steps(), pinned, "w2-" + tag);
        Run twoShort = cluster(s, mode, b, 2, s.steps() / 2, pinned, "w2-short-" + tag);
        runs.add(two);
        double bytesPerStep =
            (double) (two.loopbackBytes() - twoShort.loopbackBytes())
                / (two.steps() - twoShort.steps());
        comparisons.add(
            new Comparison(
                mode,
                b,
                one.examplesPerSec(),
                two.examplesPerSec(),
                two.examplesPerSec() / (2 * one.examplesPerSec()),
                bytesPerStep,
                bytesPerStep / params / 2));
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
              c.allReduce(),
              c.batchPerWorker(),
              c.scalingEfficiency(),
              c.bytesPerParameterPerWorker()));
      values[i] =
          new double[] {c.examplesPerSecOne(), c.examplesPerSecTwo(), 2 * c.examplesPerSecOne()};
      LOG.info(
          String.format(
              "%s, %d per worker: 1 worker %.2f ex/s, 2 workers %.2f ex/s: efficiency %.2f;"
                  + " %.0f bytes per step",
              c.allReduce(),
              c.batchPerWorker(),
              c.examplesPerSecOne(),
              c.examplesPerSecTwo(),
              c.scalingEfficiency(),
              c.bytesPerStep()));
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
      Settings s, String mode, int batch, int workers, int steps, boolean pinned, String tag)
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
      List<String> args =
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
              String.valueOf(workers * batch),
              "--warmup-steps",
              "0",
              "--log-every",
              String.valueOf(s.logEvery()),
              "--save-every",
              String.valueOf(Integer.MAX_VALUE),
              // fp32 on every machine: the bytes per step measured are of fp32 weights/gradients.
              "--precision",
              "fp32",
              "--cluster",
              String.join(",", addresses),
              "--task",
              String.valueOf(task),
              "--all-reduce",
              mode);
      Path log = s.workDir().resolve(tag + "-task" + task + ".log");
      List<String> prefix =
          pinned ? List.of("/usr/bin/taskset", "-c", String.valueOf(task)) : List.of();
      tasks.add(ChildJvm.start(s.main(), prefix, List.of(), Map.of(), args, log));
      logs.add(log);
    }
    for (int i = tasks.size() - 1; i >= 0; i--) { // the chief first: the others stop after it
      ChildJvm.lastLine(tasks.get(i), logs.get(i));
    }
    long bytes = loopbackBytes() - bytesBefore;
    double exPerSec = steadyExamplesPerSec(out.resolve(RunDir.METRICS), workers * batch);
    LOG.info(
        String.format(
            "%s, %d worker(s) x %d, %d steps: %.2f examples/s, %,d loopback bytes",
            mode, workers, batch, steps, exPerSec, bytes));
    return new Run(mode, workers, batch, workers * batch, steps, exPerSec, bytes);
  }

  /** Examples/s between the second logged step and the last (the first includes warm-up). */
  private static double steadyExamplesPerSec(Path metrics, int batch) {
    List<MetricsLog.Entry> recs = MetricsLog.read(metrics);
    if (recs.size() < 3) {
      throw new IllegalStateException(metrics + ": too few logged steps to time; raise --steps");
    }
    MetricsLog.Entry first = recs.get(1);
    MetricsLog.Entry last = recs.get(recs.size() - 1);
    return (last.step() - first.step()) * batch / (last.elapsedSec() - first.elapsedSec());
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
