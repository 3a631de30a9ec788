package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.TrainConfig;
import corebert.train.Trainer;
import corebert.train.TrainingOutcome;
import corebert.util.Jackson;
import java.util.Optional;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert pretrain`: trains the full or relaxed BERT on TFRecords, resuming from the newest
 * checkpoint of its output directory. Prints one JSON line with the final step and loss.
 */
final class PretrainCommand implements Command {
  @Override
  public String name() {
    return "pretrain";
  }

  @Override
  public String summary() {
    return "pretrain the full or relaxed BERT on TFRecords (resumes from --output-dir)";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("config", "FILE", "bert_config.json (google-research/bert keys)"));
    o.addOption(valued("model", "full|relaxed", "full BERT or CoRe's relaxed BERT (default full)"));
    TrainingOptions.add(o, true);
    return o;
  }

  @Override
  public int run(CommandLine line) throws InterruptedException {
    Variant variant = variant(line);
    BertConfig cfg = variant == Variant.RELAXED ? relaxedConfig(line) : config(line);
    TrainConfig tc = TrainingOptions.trainConfig(line, variant, "steps");
    TrainingOptions.requireSeqLength(line, tc);
    Optional<TrainingOutcome> trained = TrainingOptions.asChief(tc, () -> Trainer.train(cfg, tc));
    trained.ifPresent(outcome -> System.out.println(Jackson.write(outcome)));
    return 0;
  }
}
