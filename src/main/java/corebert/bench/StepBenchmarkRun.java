package corebert.bench;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.train.NativeSessions;
import corebert.util.Chart;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** `bench step`: measures, then writes {@code PREFIX.json} and a bar chart {@code PREFIX.png}. */
public final class StepBenchmarkRun {
  private StepBenchmarkRun() {}

  public static void run(
      BertConfig cfg,
      Path configFile,
      int[] seqs,
      int[] batches,
      int warmup,
      int steps,
      boolean xla,
      Precision precision,
      List<Boolean> fusedQkv,
      Path prefix,
      String command) {
    cfg.requireRelaxed();
    NativeSessions.requireKernels(precision);
    double peak = StepBenchmark.matmulPeak(xla);
    List<StepBenchmark.Row> rows = new ArrayList<>();
    for (int i = 0; i < seqs.length; i++) {
      int predictions = (int) Math.round(0.15 * seqs[i]); // BERT masks 15% of tokens
      for (Variant v : Variant.values()) {
        for (boolean fused : fusedQkv) {
          rows.add(
              StepBenchmark.measure(
                  cfg, v, fused, seqs[i], batches[i], predictions, warmup, steps, xla, precision));
        }
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("command", command);
    out.put("config", configFile.toString());
    out.put("machine", Machine.facts(xla, precision));
    out.put("precision", precision.name().toLowerCase());
    out.put("warmup_steps", warmup);
    out.put("timed_steps", steps);
    out.putAll(StepBenchmark.summary(rows, peak));
    Results.write(prefix, out);
    List<String> groups = new ArrayList<>();
    List<String> series = new ArrayList<>();
    for (StepBenchmark.Row r : rows) {
      if (!series.contains(r.label())) {
        series.add(r.label());
      }
    }
    double[][] values = new double[seqs.length][series.size()];
    for (int i = 0; i < seqs.length; i++) {
      groups.add("seq " + seqs[i] + ", batch " + batches[i]);
      for (StepBenchmark.Row r : rows) {
        if (r.seq() == seqs[i]) {
          values[i][series.indexOf(r.label())] = r.examplesPerSec();
        }
      }
    }
    Chart.bars(
        Path.of(prefix + ".png"),
        "training step: " + configFile.getFileName(),
        "examples/s",
        groups,
        series,
        values);
  }
}
