package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.bench.BackendBenchmark;
import corebert.bench.StepBenchmarkRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert bench step`: the cost of the full and the relaxed training step, and the matmul peak.
 */
final class BenchStepCommand implements Command {
  private static final String OUTPUT = "eval/bench-step";

  @Override
  public String name() {
    return "bench step";
  }

  @Override
  public String summary() {
    return "full vs relaxed training step (ex/s, tokens/s, share of the matmul peak) -> JSON + PNG";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(
        required(
            "config", "FILE", "model config with a relaxed block (e.g. graphs/bert-base.json)"));
    o.addOption(valued("seqs", "T,...", "sequence lengths (default 128,512)"));
    o.addOption(valued("batches", "B,...", "batch size for each sequence length (default 8,2)"));
    o.addOption(valued("steps", "N", "timed steps per configuration (default 5)"));
    o.addOption(valued("warmup", "N", "untimed steps first (default 2)"));
    o.addOption(outputPrefix(OUTPUT));
    o.addOption(flag("xla", "XLA global JIT (bin/corebert sets TF_XLA_FLAGS)"));
    o.addOption(precisionOption("type of the model's matmuls"));
    o.addOption(
        valued(
            "qkv",
            "fused|unfused|both",
            "Q/K/V as one fused matmul or three; both measures each and reports the ratio"
                + " (default fused)"));
    o.addOption(
        flag(
            "backends",
            "run the benchmark four times, XLA on/off x oneDNN on/off, each in its own JVM, and"
                + " compare"));
    return o;
  }

  @Override
  public int run(CommandLine line) throws Exception {
    int[] seqs = intList(line, "seqs", "128,512", 2);
    int[] batches = intList(line, "batches", "8,2", 1);
    if (seqs.length != batches.length) {
      throw new UsageException("--seqs and --batches need the same number of values");
    }
    Path prefix = outputPrefix(line, OUTPUT);
    if (line.hasOption("backends")) {
      if (line.hasOption("xla")) {
        throw new UsageException("--backends runs both XLA settings; drop --xla");
      }
      List<String> args = new ArrayList<>();
      for (String flag : List.of("config", "seqs", "batches", "steps", "warmup", "qkv")) {
        if (line.hasOption(flag)) {
          args.addAll(List.of("--" + flag, line.getOptionValue(flag)));
        }
      }
      BackendBenchmark.run(args, precision(line), prefix, echo(name(), line), CoreBert.class);
      System.out.println(prefix + ".json");
      return 0;
    }
    List<Boolean> fused =
        switch (line.getOptionValue("qkv", "fused")) {
          case "fused" -> List.of(true);
          case "unfused" -> List.of(false);
          case "both" -> List.of(false, true);
          default ->
              throw new UsageException(
                  "--qkv must be fused, unfused or both, got '" + line.getOptionValue("qkv") + "'");
        };
    StepBenchmarkRun.run(
        Flags.config(line),
        Path.of(line.getOptionValue("config")),
        seqs,
        batches,
        intValue(line, "warmup", 2, 0),
        intValue(line, "steps", 5, 1),
        line.hasOption("xla"),
        precision(line),
        fused,
        prefix,
        echo(name(), line));
    System.out.println(prefix + ".json");
    return 0;
  }
}
