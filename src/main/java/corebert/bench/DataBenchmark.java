package corebert.bench;

import corebert.data.PretrainingDataCreator;
import corebert.train.Checkpoints;
import corebert.util.Chart;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * `bench data`: create-data's throughput and peak memory. Each measurement is a fresh JVM running
 * `corebert create-data`, so its peak resident set (VmHWM, polled from /proc) is its own. The
 * corpus is repeated R times to show that memory stays flat as the input grows, and run with each
 * thread count to show how throughput scales.
 */
public final class DataBenchmark {
  private static final Logger LOG = Logger.getLogger(DataBenchmark.class.getName());

  /**
   * @param corpus the text corpus (one sentence per line, blank line between documents)
   * @param repeats corpus sizes, as repetitions of {@code corpus}
   * @param threads create-data --threads values
   * @param heapMb -Xmx of each child JVM
   * @param main corebert's main class, which each child JVM runs
   */
  public record Settings(
      Path corpus,
      Path vocab,
      int[] repeats,
      int[] threads,
      int maxSeqLength,
      int shards,
      int heapMb,
      Path workDir,
      Path prefix,
      String command,
      Class<?> main) {}

  /** One corpus size and thread count: create-data's own figures and the process's. */
  public record Row(
      int corpusRepeats,
      double corpusMb,
      int threads,
      long tokens,
      long instances,
      double seconds,
      double tokensPerSec,
      double tokensPerSecPerThread,
      double processWallSec,
      double peakRssMb) {}

  /** `bench data`'s {@code PREFIX.json}. */
  public record Report(
      String command,
      Machine.Facts machine,
      int childHeapMb,
      int maxSeqLength,
      int shards,
      List<Row> results) {}

  private DataBenchmark() {}

  /** Runs every corpus size and thread count, and writes PREFIX.json and PREFIX.png. */
  public static void run(Settings s) throws IOException, InterruptedException {
    Files.createDirectories(s.workDir());
    List<Row> rows = new ArrayList<>();
    for (int r : s.repeats()) {
      Path corpus = s.workDir().resolve("corpus-x" + r + ".txt");
      repeat(s.corpus(), r, corpus);
      for (int t : s.threads()) {
        Path out = s.workDir().resolve("out-x" + r + "-t" + t);
        Checkpoints.deleteRecursively(out);
        Row row = measure(s, corpus, r, out, t);
        LOG.info("x" + r + ", " + t + " thread(s): " + row);
        rows.add(row);
        Checkpoints.deleteRecursively(out);
      }
      Files.delete(corpus);
    }
    Results.write(
        s.prefix(),
        new Report(
            s.command(),
            Machine.facts(false, null),
            s.heapMb(),
            s.maxSeqLength(),
            s.shards(),
            rows));
    List<String> groups = new ArrayList<>();
    List<String> series = new ArrayList<>();
    for (int t : s.threads()) {
      series.add(t + " thread" + (t == 1 ? "" : "s"));
    }
    double[][] values = new double[s.repeats().length][s.threads().length];
    for (int i = 0; i < s.repeats().length; i++) {
      groups.add("corpus x" + s.repeats()[i]);
      for (int j = 0; j < s.threads().length; j++) {
        values[i][j] = rows.get(i * s.threads().length + j).tokensPerSec() / 1000;
      }
    }
    Chart.bars(
        Path.of(s.prefix() + ".png"),
        "create-data throughput (labels: thousand tokens/s)",
        "thousand tokens/s",
        groups,
        series,
        values);
  }

  /** One child JVM: wall time, its own reported tokens and seconds, and its peak RSS. */
  private static Row measure(Settings s, Path corpus, int repeats, Path out, int threads)
      throws IOException, InterruptedException {
    List<String> args =
        List.of(
            "create-data",
            "--input",
            corpus.toString(),
            "--vocab",
            s.vocab().toString(),
            "--output",
            out.toString(),
            "--max-seq-length",
            String.valueOf(s.maxSeqLength()),
            "--shards",
            String.valueOf(s.shards()),
            "--threads",
            String.valueOf(threads),
            "--dupe-factor",
            "1");
    Path log = s.workDir().resolve("create-data.log");
    long start = System.nanoTime();
    Process p =
        ChildJvm.start(
            s.main(), List.of(), List.of("-Xmx" + s.heapMb() + "m"), Map.of(), args, log);
    Path status = Path.of("/proc/" + p.pid() + "/status");
    long peakKb = 0;
    while (p.isAlive()) {
      peakKb = Math.max(peakKb, hwmKb(status));
      Thread.sleep(50);
    }
    String last = ChildJvm.lastLine(p, log);
    double wall = (System.nanoTime() - start) / 1e9;
    PretrainingDataCreator.Summary summary =
        Jackson.read(last, PretrainingDataCreator.Summary.class);
    double perSec = summary.tokens() / summary.seconds();
    return new Row(
        repeats,
        Files.size(corpus) / 1e6,
        threads,
        summary.tokens(),
        summary.instances(),
        summary.seconds(),
        perSec,
        perSec / threads,
        wall,
        peakKb / 1024.0);
  }

  private static long hwmKb(Path status) {
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | UncheckedIOException e) {
      // the process just ended
    }
    return 0;
  }

  /** Writes {@code times} copies of {@code in}, streaming, with a document break between copies. */
  private static void repeat(Path in, int times, Path out) throws IOException {
    try (OutputStream o = Files.newOutputStream(out)) {
      for (int i = 0; i < times; i++) {
        try (InputStream is = Files.newInputStream(in)) {
          is.transferTo(o);
        }
        o.write("\n\n".getBytes());
      }
    }
  }
}
