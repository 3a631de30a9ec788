package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.export.HuggingFaceImport;
import corebert.model.BertConfig;
import corebert.util.Jackson;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert import`: a Hugging Face BERT folder -> a google-research/bert checkpoint. */
final class ImportCommand implements Command {
  @Override
  public String name() {
    return "import";
  }

  @Override
  public String summary() {
    return "Hugging Face BERT (config.json, model.safetensors, vocab.txt) -> BERT checkpoint";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(
        valued(
            "format",
            "huggingface",
            "what --input is: huggingface, a transformers folder in BertForPreTraining's layout"
                + " (bert. and cls. keys) or a bare BertModel's (heads start fresh) (default"
                + " huggingface)"));
    o.addOption(
        required(
            "input",
            "HF_DIR",
            "the folder: config.json (model_type bert), model.safetensors (F32, F16 or BF16;"
                + " pytorch_model.bin must be converted first) and vocab.txt"));
    o.addOption(
        required(
            "output-dir",
            "DIR",
            "new or empty folder for model.ckpt-0, bert_config.json and vocab.txt, which pretrain"
                + " --init-checkpoint, evaluate, finetune and export take"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    String format = line.getOptionValue("format", "huggingface");
    if (!format.equals("huggingface")) {
      throw new UsageException("--format must be huggingface, got '" + format + "'");
    }
    HuggingFaceImport.Imported imported =
        HuggingFaceImport.importModel(
            Path.of(line.getOptionValue("input")), Path.of(line.getOptionValue("output-dir")));
    System.out.println(
        Jackson.write(
            new Printed(
                imported.checkpoint().toString(),
                imported.config().bertFields(),
                imported.fresh())));
    return 0;
  }

  /** The printed line: the checkpoint, its config, and variables the folder had no weights for. */
  private record Printed(String checkpoint, BertConfig.File config, List<String> freshVariables) {}
}
