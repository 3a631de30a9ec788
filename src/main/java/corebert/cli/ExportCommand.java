package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.export.SavedModelExport;
import corebert.train.Checkpoints;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert export`: a full-BERT checkpoint → SavedModel with a TF Hub-style encoder signature. */
final class ExportCommand implements Command {
  @Override
  public String name() {
    return "export";
  }

  @Override
  public String summary() {
    return "write a full-BERT checkpoint as a SavedModel (serving_default: ids, mask, type ids ->"
        + " sequence_output, pooled_output)";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("config", "FILE", "bert_config.json of the checkpoint"));
    o.addOption(
        required(
            "checkpoint", "CKPT",
            "full-BERT checkpoint: directory (newest) or prefix, ours or google-research/bert's"));
    o.addOption(required("vocab", "FILE", "vocab.txt, copied into the SavedModel's assets/"));
    o.addOption(required("output", "DIR", "new folder for the SavedModel (must not exist)"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    Path output = Path.of(line.getOptionValue("output"));
    SavedModelExport.export(
        PretrainCommand.config(line),
        Checkpoints.resolve(line.getOptionValue("checkpoint")),
        existingFile(line, "vocab"),
        output);
    System.out.println(output);
    return 0;
  }
}
