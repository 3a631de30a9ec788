package corebert.bench;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.train.NativeSessions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** `bench step`: measures, then writes {@code PREFIX.json} and a bar chart {@code PREFIX.png}. */
public final class StepBenchmarkRun {
  private StepBenchmarkRun() {}

  public static void run(
      BertConfig cfg, Path configFile, int[] seqs, int[] batches, int warmup, int steps,
      boolean xla, Precision precision, Path prefix, String command) {
    cfg.requireRelaxed();
    NativeSessions.requireKernels(precision);
    double peak = StepBenchmark.matmulPeak(xla);
    List<StepBenchmark.Row> rows = new ArrayList<>();
    for (int i = 0; i < seqs.length; i++) {
      int predictions = (int) Math.round(0.15 * seqs[i]); // BERT masks 15% of tokens
      for (Variant v : Variant.values()) {
        rows.add(StepBenchmark.measure(
                cfg, v, seqs[i], batches[i], predictions, warmup, steps, xla, precision));
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("command", command);
    out.put("config", configFile.toString());
    out.put("machine", Machine.facts(xla));
    out.put("precision", precision.name().toLowerCase());
    out.put("warmup_steps", warmup);
    out.put("timed_steps", steps);
    out.putAll(StepBenchmark.summary(rows, peak));
    Results.write(prefix, out);
    List<String> groups = new ArrayList<>();
    double[][] values = new double[seqs.length][2];
    for (int i = 0; i < seqs.length; i++) {
      groups.add("seq " + seqs[i] + ", batch " + batches[i]);
      for (StepBenchmark.Row r : rows) {
        if (r.seq() == seqs[i]) {
          values[i][r.variant() == Variant.FULL ? 0 : 1] = r.examplesPerSec();
        }
      }
    }
    Chart.bars(
        Path.of(prefix + ".png"), "training step: " + configFile.getFileName(), "examples/s",
        groups, List.of("full BERT", "relaxed BERT"), values);
  }
}
