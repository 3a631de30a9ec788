package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.bench.ScaleBenchmark;
import corebert.train.Cluster;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert bench scale`: 1 vs 2 pinned workers on loopback, per all-reduce mode and batch:
 * examples/s, efficiency, bytes.
 */
final class BenchScaleCommand implements Command {
  private static final String OUTPUT = "eval/bench-scale";
  private static final String WORK = "work/bench-scale";

  @Override
  public String name() {
    return "bench scale";
  }

  @Override
  public String summary() {
    return "pretraining on 1 vs 2 loopback workers, each on its own core, per --all-reduce mode"
        + " and gradient type: examples/s, scaling efficiency, bytes and CPU per step -> JSON +"
        + " PNG";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("config", "FILE", "bert_config.json whose vocab_size fits the data"));
    o.addOption(required("input", "GLOB", "pretraining TFRecords"));
    o.addOption(
        valued(
            "batch-per-worker",
            "N,...",
            "sequences per worker and step, one comparison each (default 16,32)"));
    o.addOption(
        valued(
            "all-reduce",
            "MODE,...",
            "the --all-reduce modes to compare, each with its own 2-worker runs (default"
                + " chief,collective)"));
    o.addOption(
        valued(
            "gradient-precision",
            "TYPE,...",
            "the types collective runs send gradients in, each compared (default fp32,bf16;"
                + " chief runs are fp32)"));
    o.addOption(
        valued(
            "steps",
            "N",
            "steps of each throughput run; the bytes run takes N/2 more (default 30)"));
    o.addOption(valued("log-every", "N", "log interval, the timing resolution (default 5)"));
    o.addOption(workDir("the runs' output and logs", WORK));
    o.addOption(outputPrefix(OUTPUT));
    return o;
  }

  @Override
  public int run(CommandLine line) throws Exception {
    Path prefix = outputPrefix(line, OUTPUT);
    int steps = intValue(line, "steps", 30, 4);
    int logEvery = intValue(line, "log-every", 5, 1);
    if (steps / 2 < 3 * logEvery) {
      throw new UsageException("--steps must be at least 6 x --log-every to time steady steps");
    }
    ScaleBenchmark.run(
        new ScaleBenchmark.Settings(
            existingFile(line, "config"),
            line.getOptionValue("input"),
            Arrays.stream(intList(line, "batch-per-worker", "16,32", 1)).boxed().toList(),
            modes(line),
            steps,
            logEvery,
            workDir(line, WORK),
            prefix,
            echo(name(), line),
            CoreBert.class));
    System.out.println(prefix + ".json");
    return 0;
  }

  /** Each --all-reduce mode; collective once per --gradient-precision. */
  private static List<ScaleBenchmark.Mode> modes(CommandLine line) {
    List<String> types = new ArrayList<>();
    for (String t : line.getOptionValue("gradient-precision", "fp32,bf16").split(",")) {
      types.add(gradientPrecision(t.strip()).name().toLowerCase());
    }
    List<ScaleBenchmark.Mode> modes = new ArrayList<>();
    for (String m : line.getOptionValue("all-reduce", "chief,collective").split(",")) {
      Cluster.AllReduce mode;
      try {
        mode = Cluster.AllReduce.parse(m.strip());
      } catch (IllegalArgumentException e) {
        throw new UsageException("--all-reduce: " + e.getMessage());
      }
      String name = mode.name().toLowerCase();
      if (mode == Cluster.AllReduce.CHIEF) {
        modes.add(new ScaleBenchmark.Mode(name, "fp32"));
      } else {
        types.forEach(t -> modes.add(new ScaleBenchmark.Mode(name, t)));
      }
    }
    return modes;
  }
}
