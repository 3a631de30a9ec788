package corebert.cli;

import static corebert.cli.Flags.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/**
 * `corebert quickstart`: {@code corebert run} on the bundled Brown sample, sized for a few minutes
 * on two cores: its own held-out documents, a 4000-token vocab, seq 64, bert-tiny. Rerunning it
 * continues the run. The last stdout line is the run's report.
 */
final class QuickstartCommand implements Command {
  static final int SEQ = 64;
  private static final int DEFAULT_RELAXED_STEPS = 600;
  private static final int DEFAULT_FULL_STEPS = 900;

  /**
   * Small BERTs on a small corpus sit on the unigram plateau for hundreds of steps; a high peak
   * with a long warm-up (a third of phase 1) left it soonest in a sweep on bert-tiny (1e-4, 4e-4,
   * 1e-3 with 10% warm-up collapsed to the unigram guess).
   */
  private static final List<String> SAMPLE_SETTINGS =
      List.of(
          "--vocab-size", "4000",
          "--seq-length", String.valueOf(SEQ),
          "--max-predictions", "10",
          "--dupe-factor", "3",
          "--batch-size", "32",
          "--warmup-steps", "200",
          "--relaxed-lr", "1e-3",
          "--full-warmup-steps", "45");

  @Override
  public String name() {
    return "quickstart";
  }

  @Override
  public String summary() {
    return "corebert run on the bundled Brown sample (a few minutes on 2 cores)";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(valued("output-dir", "DIR", "working directory (default work/quickstart)"));
    o.addOption(valued("config", "FILE", "model config (default graphs/bert-tiny.json)"));
    o.addOption(
        valued("relaxed-steps", "N1", "phase-1 steps (default " + DEFAULT_RELAXED_STEPS + ")"));
    o.addOption(valued("full-steps", "N2", "phase-2 steps (default " + DEFAULT_FULL_STEPS + ")"));
    o.addOption(flag("xla", "compile with XLA"));
    o.addOption(precisionOption("type of the model's matmuls"));
    return o;
  }

  @Override
  public int run(CommandLine line) throws ParseException {
    Path home = Path.of(System.getProperty("corebert.home", "."));
    Path sample = home.resolve("data/sample");
    Path trainText = sample.resolve("brown-sample-train.txt");
    Path evalText = sample.resolve("brown-sample-eval.txt");
    if (!Files.isRegularFile(trainText) || !Files.isRegularFile(evalText)) {
      throw new IllegalArgumentException(
          "bundled sample not found under " + sample + " (run from the corebert checkout)");
    }
    int relaxedSteps = intValue(line, "relaxed-steps", DEFAULT_RELAXED_STEPS, 1);
    int fullSteps = intValue(line, "full-steps", DEFAULT_FULL_STEPS, 1);
    double fraction = relaxedSteps / (double) (relaxedSteps + fullSteps);
    if (fraction < 0.01 || fraction > 0.99) {
      throw new UsageException(
          "--relaxed-steps must be 1% to 99% of --relaxed-steps plus --full-steps, got "
              + relaxedSteps
              + " of "
              + (relaxedSteps + fullSteps));
    }
    Path dir = Path.of(line.getOptionValue("output-dir", "work/quickstart"));
    List<String> args = new ArrayList<>(SAMPLE_SETTINGS);
    args.addAll(List.of("--text", trainText.toString(), "--heldout-text", evalText.toString()));
    args.addAll(List.of("--output-dir", dir.toString()));
    args.addAll(
        List.of(
            "--config",
            line.getOptionValue("config", home.resolve("graphs/bert-tiny.json").toString())));
    args.addAll(List.of("--steps", String.valueOf(relaxedSteps + fullSteps)));
    args.addAll(List.of("--relaxed-fraction", String.valueOf(fraction)));
    if (line.hasOption("xla")) {
      args.add("--xla");
    }
    if (line.hasOption("precision")) {
      args.addAll(List.of("--precision", line.getOptionValue("precision")));
    }
    // quickstart is `run` with the sample's settings.
    RunCommand run = new RunCommand();
    return run.run(new DefaultParser().parse(run.options(), args.toArray(String[]::new)));
  }
}
