package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.bench.StepBenchmarkRun;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert bench <name>`: benchmarks whose results go to {@code eval/} as JSON plus PNG. Only
 * `step` exists so far: the cost of the full and the relaxed training step.
 */
final class BenchCommand implements Command {
  @Override
  public String name() {
    return "bench";
  }

  @Override
  public String summary() {
    return "benchmarks into eval/ (JSON + PNG): step (full vs relaxed step cost, matmul peak)";
  }

  @Override
  public boolean takesArguments() {
    return true;
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("config", "FILE", "model config with a relaxed block (e.g. graphs/bert-base.json)"));
    o.addOption(valued("seqs", "T,...", "sequence lengths (default 128,512)"));
    o.addOption(valued("batches", "B,...", "batch size for each sequence length (default 8,2)"));
    o.addOption(valued("steps", "N", "timed steps per configuration (default 5)"));
    o.addOption(valued("warmup", "N", "untimed steps first (default 2)"));
    o.addOption(valued("output", "PREFIX", "writes PREFIX.json and PREFIX.png (default eval/bench-step)"));
    o.addOption(flag("xla", "XLA global JIT (bin/corebert sets TF_XLA_FLAGS)"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    List<String> args = line.getArgList();
    if (args.size() != 1 || !args.get(0).equals("step")) {
      throw new UsageException("usage: corebert bench step --config F [...]; known benchmarks: step");
    }
    int[] seqs = ints(line, "seqs", "128,512");
    int[] batches = ints(line, "batches", "8,2");
    if (seqs.length != batches.length) {
      throw new UsageException("--seqs and --batches need the same number of values");
    }
    Path prefix = Path.of(line.getOptionValue("output", "eval/bench-step"));
    StepBenchmarkRun.run(
        PretrainCommand.config(line), Path.of(line.getOptionValue("config")), seqs, batches,
        intValue(line, "warmup", 2, 0), intValue(line, "steps", 5, 1), line.hasOption("xla"), prefix,
        "bin/corebert bench step " + String.join(" ", Arrays.asList(originalArgs(line))));
    System.out.println(prefix + ".json");
    return 0;
  }

  private static String[] originalArgs(CommandLine line) {
    return Arrays.stream(line.getOptions())
        .flatMap(o -> o.hasArg() ? Stream.of("--" + o.getLongOpt(), o.getValue())
            : Stream.of("--" + o.getLongOpt()))
        .toArray(String[]::new);
  }

  private static int[] ints(CommandLine line, String flag, String dflt) {
    try {
      return Arrays.stream(line.getOptionValue(flag, dflt).split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    } catch (NumberFormatException e) {
      throw new UsageException("--" + flag + " must be integers separated by commas");
    }
  }
}
