package corebert.bench;

import corebert.model.Precision;
import corebert.util.Chart;
import corebert.util.Jackson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * `bench step --backends`: the same step benchmark with XLA on and off and oneDNN on and off, one
 * after the other on this machine. TensorFlow reads both switches from the environment when it
 * loads, so each setting runs in a JVM of its own; this process only collects and compares.
 */
public final class BackendBenchmark {
  /** One setting: its name, XLA's global JIT, oneDNN. */
  private record Backend(String name, boolean xla, boolean onednn) {
    Map<String, String> env() {
      Map<String, String> env = new HashMap<>();
      env.put("TF_XLA_FLAGS", xla ? "--tf_xla_cpu_global_jit" : null);
      env.put("TF_ENABLE_ONEDNN_OPTS", onednn ? "1" : "0");
      return env;
    }
  }

  private static final List<Backend> BACKENDS =
      List.of(
          new Backend("XLA off, oneDNN on", false, true),
          new Backend("XLA on, oneDNN on", true, true),
          new Backend("XLA off, oneDNN off", false, false),
          new Backend("XLA on, oneDNN off", true, false));

  /** One backend's matmul peak and step rows, as its child `bench step` measured them. */
  public record Setting(
      String backend,
      boolean xla,
      boolean onednn,
      double matmulPeakGflops,
      List<StepBenchmark.ResultRow> results) {}

  /**
   * `bench step --backends`'s {@code PREFIX.json}: every setting, and each one's examples/s over
   * the first's per model and sequence length.
   */
  public record Report(
      String command,
      Machine.Facts machine,
      List<Setting> settings,
      Map<String, Map<String, Double>> examplesPerSecOverDefault) {}

  private BackendBenchmark() {}

  /**
   * @param stepArgs the `bench step` arguments to repeat (without --output, --xla and --precision)
   * @param precision every run's, resolved once here: auto would pick fp32 where oneDNN is off
   * @param main corebert's main class, which each child JVM runs
   */
  public static void run(
      List<String> stepArgs, Precision precision, Path prefix, String command, Class<?> main)
      throws IOException, InterruptedException {
    Path work = Path.of("work", "bench-backends"); // each setting's own JSON and log
    Files.createDirectories(work);
    List<Setting> settings = new ArrayList<>();
    for (int i = 0; i < BACKENDS.size(); i++) {
      Backend b = BACKENDS.get(i);
      Path childPrefix = work.resolve("backend-" + i);
      List<String> args = new ArrayList<>(List.of("bench", "step"));
      args.addAll(stepArgs);
      args.addAll(List.of("--precision", precision.name().toLowerCase(Locale.ROOT)));
      args.addAll(List.of("--output", childPrefix.toString()));
      if (b.xla()) {
        args.add("--xla");
      }
      Path log = work.resolve("backend-" + i + ".log");
      ChildJvm.lastLine(ChildJvm.start(main, List.of(), List.of(), b.env(), args, log), log);
      StepBenchmark.Report child =
          Jackson.read(
              Files.readString(Path.of(childPrefix + ".json")), StepBenchmark.Report.class);
      settings.add(
          new Setting(b.name(), b.xla(), b.onednn(), child.matmulPeakGflops(), child.results()));
    }
    Results.write(
        prefix, new Report(command, Machine.facts(false, precision), settings, ratios(settings)));
    plot(settings, prefix);
  }

  /** Each setting's examples/s divided by the first's (XLA off, oneDNN on), per model and seq. */
  private static Map<String, Map<String, Double>> ratios(List<Setting> settings) {
    List<StepBenchmark.ResultRow> base = settings.get(0).results();
    Map<String, Map<String, Double>> out = new LinkedHashMap<>();
    for (Setting s : settings) {
      Map<String, Double> r = new LinkedHashMap<>();
      for (int i = 0; i < s.results().size(); i++) {
        StepBenchmark.ResultRow row = s.results().get(i);
        r.put(
            row.model() + "_seq_" + row.seq(), row.examplesPerSec() / base.get(i).examplesPerSec());
      }
      out.put(s.backend(), r);
    }
    return out;
  }

  private static void plot(List<Setting> settings, Path prefix) {
    List<String> groups = new ArrayList<>();
    List<String> series = new ArrayList<>();
    for (StepBenchmark.ResultRow row : settings.get(0).results()) {
      series.add(row.model() + ", seq " + row.seq());
    }
    double[][] values = new double[settings.size()][series.size()];
    for (int i = 0; i < settings.size(); i++) {
      groups.add(settings.get(i).backend());
      List<StepBenchmark.ResultRow> rows = settings.get(i).results();
      for (int j = 0; j < rows.size(); j++) {
        values[i][j] = rows.get(j).examplesPerSec();
      }
    }
    Chart.bars(
        Path.of(prefix + ".png"),
        "training step by backend (examples/s)",
        "examples/s",
        groups,
        series,
        values);
  }
}
