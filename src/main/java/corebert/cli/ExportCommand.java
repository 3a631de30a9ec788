package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.export.ExportFormat;
import corebert.export.HuggingFaceExport;
import corebert.export.SavedModelExport;
import corebert.model.BertConfig;
import corebert.train.Checkpoints;
import java.nio.file.Path;
import java.util.List;
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
            "checkpoint",
            "CKPT",
            "full-BERT checkpoint: directory (newest) or prefix, ours or google-research/bert's"));
    o.addOption(required("vocab", "FILE", "vocab.txt, copied into the SavedModel's assets/"));
    o.addOption(required("output", "DIR", "a new or empty folder for the model"));
    o.addOption(
        valued(
            "format",
            "savedmodel|huggingface",
            "a TF SavedModel, or a Hugging Face BertForPreTraining directory (config.json,"
                + " model.safetensors, tokenizer files) (default savedmodel)"));
    o.addOption(flag("no-lowercase", "the vocab is cased (huggingface: do_lower_case false)"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    Path output = Path.of(line.getOptionValue("output"));
    BertConfig cfg = Flags.config(line);
    Path checkpoint = Checkpoints.resolve(line.getOptionValue("checkpoint"));
    Path vocab = existingFile(line, "vocab");
    List<ExportFormat> formats = exportFormats(line);
    if (formats.size() != 1) {
      throw new UsageException(
          "--format: export writes one format at a time, got " + line.getOptionValue("format"));
    }
    if (formats.get(0) == ExportFormat.HUGGINGFACE) {
      HuggingFaceExport.exportPretraining(
          cfg, checkpoint, vocab, !line.hasOption("no-lowercase"), output);
    } else {
      SavedModelExport.export(cfg, checkpoint, vocab, output);
    }
    System.out.println(output);
    return 0;
  }
}
