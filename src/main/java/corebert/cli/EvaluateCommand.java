package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import corebert.train.TrainConfig;
import corebert.util.Json;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert evaluate`: held-out MLM/NSP metrics of a checkpoint, as one JSON line on stdout. */
final class EvaluateCommand implements Command {
  @Override
  public String name() {
    return "evaluate";
  }

  @Override
  public String summary() {
    return "held-out MLM loss/accuracy and NSP accuracy of a checkpoint, as one JSON line";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("config", "FILE", "bert_config.json of the checkpoint's model"));
    o.addOption(required("checkpoint", "CKPT", "checkpoint directory (newest) or prefix"));
    o.addOption(requiredList("input", "GLOB", "held-out pretraining TFRecords (repeatable)"));
    o.addOption(valued("model", "full|relaxed", "which model the checkpoint holds (default full)"));
    o.addOption(
        valued(
            "batch-size", "N", "sequences per batch (default " + TrainConfig.DEFAULT_BATCH + ")"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    var metrics =
        Evaluator.evaluate(
            PretrainCommand.config(line),
            PretrainCommand.variant(line),
            Checkpoints.resolve(line.getOptionValue("checkpoint")),
            globs(line, "input"),
            intValue(line, "batch-size", TrainConfig.DEFAULT_BATCH, 1));
    System.out.println(Json.write(metrics));
    return 0;
  }
}
