package corebert.bench;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.train.NativeSessions;
import corebert.util.Chart;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
    Results.write(
        prefix,
        new StepBenchmark.Report(
            command,
            configFile.toString(),
            Machine.facts(xla, precision),
            precision.name().toLowerCase(),
            warmup,
            steps,
            peak / 1e9,
            StepBenchmark.resultRows(rows, peak),
            StepBenchmark.relaxedOverFull(rows),
            StepBenchmark.fusedOverUnfused(rows)));
    chart(rows, seqs, batches, configFile, prefix);
  }

  /** Examples/s per model, grouped by sequence length and batch. */
  private static void chart(
      List<StepBenchmark.Row> rows, int[] seqs, int[] batches, Path configFile, Path prefix) {
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
