package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.core.CorePipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.TrainConfig;
import corebert.train.TrainingOutcome;
import corebert.util.Jackson;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** `corebert core`: relaxed pretraining → surgery → full pretraining, resumable, one directory. */
final class CoreCommand implements Command {
  @Override
  public String name() {
    return "core";
  }

  @Override
  public String summary() {
    return "the CoRe pipeline: relaxed BERT -> surgery -> full BERT, in one resumable run";
  }

  @Override
  public Options options() {
    Options o = new Options();
    addPhaseOptions(o);
    addSwitchOptions(o);
    return o;
  }

  /** The relaxed config and the two phases' lengths and rates. */
  private static void addPhaseOptions(Options o) {
    o.addOption(
        required(
            "config",
            "FILE",
            "bert_config.json with a \"relaxed\" block: attention (linear_elu, or softmax for an"
                + " exact switch), ffn_rank, attention_rank (0: full Q/K/V/O), qk_bound (bound on"
                + " each layer's |Wq|_F*|Wk|_F in phase 1, which softmax sees after surgery; 0:"
                + " none)"));
    o.addOption(valued("relaxed-steps", "N1", "phase-1 (relaxed) steps, with --full-steps"));
    o.addOption(valued("full-steps", "N2", "phase-2 (full) steps after surgery"));
    o.addOption(
        valued(
            "relaxed-fraction",
            "F",
            "with --time-budget: share of the budget for phase 1 (default "
                + CorePipeline.Plan.DEFAULT_RELAXED_FRACTION
                + ")"));
    o.addOption(
        valued(
            "full-warmup-steps",
            "N",
            "phase 2's re-warm-up (default: 2% of phase 2, at least 10)"));
    o.addOption(valued("relaxed-lr", "RATE", "phase 1's peak learning rate (default: --lr)"));
    o.addOption(
        valued(
            "full-lr",
            "RATE",
            "phase 2's peak learning rate (default " + CorePipeline.Plan.DEFAULT_FULL_LR + ")"));
  }

  /** The schedule, the switch's levers, held-out data, and the shared training options. */
  private static void addSwitchOptions(Options o) {
    o.addOption(
        valued(
            "schedule",
            "joint|per-phase",
            "joint: phase 1's learning rate decays over the whole run, so only phase 2 anneals;"
                + " per-phase: each phase decays to 0 at its own end (default joint)"));
    o.addOption(
        Option.builder()
            .longOpt("fit-temperature")
            .desc(
                "at surgery, fit a softmax temperature per layer on 16 training batches (to the MLM"
                    + " loss with every scored position shown as [MASK]) and fold it into the"
                    + " query kernel and bias: linear attention lets the Q·K scale grow, and"
                    + " softmax is then too sharp")
            .build());
    o.addOption(
        valued(
            "blend-steps",
            "N",
            "phase 2's attention is (1-m)*linear + m*softmax with m rising from 0 to 1 over its"
                + " first N steps: at m = 0 the converted model computes what the relaxed one did,"
                + " after the ramp it is a plain BERT (needs linear attention; default 0: softmax"
                + " at once; not with --fit-temperature)"));
    o.addOption(
        Flags.optionalList(
            "eval-input",
            "GLOB",
            "held-out TFRecords: evaluate before/after surgery and at the end"));
    TrainingOptions.add(o, false);
  }

  private static boolean jointSchedule(CommandLine line) {
    return switch (line.getOptionValue("schedule", "joint")) {
      case "joint" -> true;
      case "per-phase" -> false;
      default ->
          throw new UsageException(
              "--schedule must be joint or per-phase, got '"
                  + line.getOptionValue("schedule")
                  + "'");
    };
  }

  @Override
  public int run(CommandLine line) throws InterruptedException {
    BertConfig cfg = relaxedConfig(line);
    boolean budget = line.hasOption("time-budget");
    long n1 = longValue(line, "relaxed-steps", 0, 1);
    long n2 = longValue(line, "full-steps", 0, 1);
    if (budget == (n1 > 0 || n2 > 0) || (!budget && (n1 == 0 || n2 == 0))) {
      throw new UsageException("give --relaxed-steps and --full-steps, or --time-budget");
    }
    if (line.hasOption("init-checkpoint")) {
      // Phase 1 trains the relaxed model from scratch and phase 2 starts from surgery.
      throw new UsageException("--init-checkpoint is not used by core; run pretrain for that");
    }
    TrainConfig tc = TrainingOptions.trainConfig(line, Variant.RELAXED, "relaxed-steps");
    TrainingOptions.requireSeqLength(line, tc);
    double fraction =
        doubleValue(
            line, "relaxed-fraction", CorePipeline.Plan.DEFAULT_RELAXED_FRACTION, 0.01, 0.99);
    long warmup = longValue(line, "full-warmup-steps", Math.max(10, n2 / 50), 0);
    double relaxedLr = doubleValue(line, "relaxed-lr", tc.learningRate(), 1e-9, 0.999);
    double fullLr = doubleValue(line, "full-lr", CorePipeline.Plan.DEFAULT_FULL_LR, 1e-9, 0.999);
    List<Path> eval = line.hasOption("eval-input") ? globs(line, "eval-input") : List.of();
    CorePipeline.Handover handover;
    try {
      handover =
          CorePipeline.Handover.of(
              line.hasOption("fit-temperature"),
              longValue(line, "blend-steps", 0, 0),
              cfg.requireRelaxed().linearAttention());
    } catch (IllegalArgumentException e) {
      throw new UsageException("--fit-temperature, --blend-steps: " + e.getMessage());
    }
    CorePipeline.Plan plan =
        CorePipeline.Plan.builder()
            .steps(n1, n2)
            .relaxedFraction(fraction)
            .relaxedLearningRate(relaxedLr)
            .fullLearningRate(fullLr)
            .fullWarmupSteps(warmup)
            .jointSchedule(jointSchedule(line))
            .evalInputs(eval)
            .handover(handover)
            .build();
    // On a cluster both phases train there; surgery and the evaluations run on the chief while
    // the other tasks keep serving, or with collective all-reduce wait in their next collective.
    if (tc.parallel().collective() && !tc.parallel().isChief()) {
      Optional<TrainingOutcome> followed =
          TrainingOptions.asChief(tc, () -> CorePipeline.followChief(cfg, tc, plan));
      followed.ifPresent(o -> System.out.println(Jackson.write(o)));
      return 0;
    }
    Optional<CorePipeline.Summary> summary =
        TrainingOptions.asChief(tc, () -> CorePipeline.run(cfg, tc, plan));
    summary.ifPresent(s -> System.out.println(Jackson.write(s)));
    return 0;
  }
}
