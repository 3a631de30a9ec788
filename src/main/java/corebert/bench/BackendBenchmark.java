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
    List<Map<String, Object>> settings = new ArrayList<>();
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
      Map<String, Object> child =
          Jackson.parseObject(Files.readString(Path.of(childPrefix + ".json")));
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("backend", b.name());
      m.put("xla", b.xla());
      m.put("onednn", b.onednn());
      m.put("matmul_peak_gflops", child.get("matmul_peak_gflops"));
      m.put("results", child.get("results"));
      settings.add(m);
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("command", command);
    out.put("machine", Machine.facts(false, precision));
    out.put("settings", settings);
    out.put("examples_per_sec_over_default", ratios(settings));
    Results.write(prefix, out);
    plot(settings, prefix);
  }

  /** Each setting's examples/s divided by the first's (XLA off, oneDNN on), per model and seq. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> ratios(List<Map<String, Object>> settings) {
    List<Map<String, Object>> base = (List<Map<String, Object>>) settings.get(0).get("results");
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map<String, Object> s : settings) {
      Map<String, Object> r = new LinkedHashMap<>();
      List<Map<String, Object>> rows = (List<Map<String, Object>>) s.get("results");
      for (int i = 0; i < rows.size(); i++) {
        r.put(
            rows.get(i).get("model") + "_seq_" + rows.get(i).get("seq"),
            ((Number) rows.get(i).get("examples_per_sec")).doubleValue()
                / ((Number) base.get(i).get("examples_per_sec")).doubleValue());
      }
      out.put((String) s.get("backend"), r);
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static void plot(List<Map<String, Object>> settings, Path prefix) {
    List<String> groups = new ArrayList<>();
    List<String> series = new ArrayList<>();
    for (Map<String, Object> row : (List<Map<String, Object>>) settings.get(0).get("results")) {
      series.add(row.get("model") + ", seq " + row.get("seq"));
    }
    double[][] values = new double[settings.size()][series.size()];
    for (int i = 0; i < settings.size(); i++) {
      groups.add((String) settings.get(i).get("backend"));
      List<Map<String, Object>> rows = (List<Map<String, Object>>) settings.get(i).get("results");
      for (int j = 0; j < rows.size(); j++) {
        values[i][j] = ((Number) rows.get(j).get("examples_per_sec")).doubleValue();
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
