package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.data.Vocab;
import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import corebert.train.TrainConfig;
import corebert.util.Jackson;
import java.util.List;
import java.util.OptionalInt;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert evaluate`: held-out MLM/NSP metrics of a checkpoint, as one JSON line on stdout: the
 * masked-LM loss and accuracy on the records as written and with every scored position masked
 * ({@code _masked}, no copying of the visible 10%), and a unigram model's loss for reference.
 */
final class EvaluateCommand implements Command {
  @Override
  public String name() {
    return "evaluate";
  }

  @Override
  public String summary() {
    return "held-out MLM loss/accuracy (also with every scored token masked, and a unigram"
        + " model's) and NSP accuracy of a checkpoint, as one JSON line";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("config", "FILE", "bert_config.json of the checkpoint's model"));
    o.addOption(required("checkpoint", "CKPT", "checkpoint directory (newest) or prefix"));
    o.addOption(requiredList("input", "GLOB", "held-out pretraining TFRecords (repeatable)"));
    o.addOption(valued("model", "full|relaxed", "which model the checkpoint holds (default full)"));
    o.addOption(
        optionalList(
            "train-input",
            "GLOB",
            "the training TFRecords: unigram_loss is the held-out loss of their add-one unigram"
                + " model (default: the held-out records' own unigram model)"));
    o.addOption(
        valued(
            "vocab",
            "FILE",
            "vocab.txt, for [MASK]'s id in mlm_loss_masked (default: the id most scored positions"
                + " show, which is [MASK] under google-research's masking)"));
    o.addOption(
        valued(
            "batch-size", "N", "sequences per batch (default " + TrainConfig.DEFAULT_BATCH + ")"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    var metrics =
        Evaluator.evaluate(
            Flags.config(line),
            Flags.variant(line),
            Checkpoints.resolve(line.getOptionValue("checkpoint")),
            new Evaluator.HeldOut(
                globs(line, "input"),
                line.hasOption("train-input") ? globs(line, "train-input") : List.of(),
                line.hasOption("vocab")
                    ? OptionalInt.of(Vocab.load(existingFile(line, "vocab")).maskId())
                    : OptionalInt.empty()),
            intValue(line, "batch-size", TrainConfig.DEFAULT_BATCH, 1));
    System.out.println(Jackson.write(metrics));
    return 0;
  }
}
