package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.glue.FineTuner;
import corebert.glue.GlueTask;
import corebert.glue.Task;
import corebert.glue.TsvTask;
import corebert.train.Checkpoints;
import corebert.util.Jackson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert finetune`: GLUE-format TSVs → fine-tuned classifier; last stdout line = dev metrics.
 */
final class FinetuneCommand implements Command {
  static final int DEFAULT_EPOCHS = 3;
  static final double DEFAULT_LR = 2e-5;
  static final int DEFAULT_BATCH = 32;
  static final int DEFAULT_SEQ = 128;

  @Override
  public String name() {
    return "finetune";
  }

  @Override
  public String summary() {
    return "fine-tune on a GLUE task (cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte, wnli) or any"
        + " labelled TSV (--task tsv)";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(
        required(
            "task",
            "NAME",
            "cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte or wnli; or tsv for any labelled TSV"
                + " (with --text-column and --label-column)"));
    o.addOption(valued("text-column", "N", "--task tsv: 0-based column of the text"));
    o.addOption(
        valued("text-b-column", "M", "--task tsv: column of a second text (sentence pairs)"));
    o.addOption(valued("label-column", "L", "--task tsv: column of the label"));
    o.addOption(flag("header", "--task tsv: the files' first line names the columns"));
    o.addOption(
        valued(
            "labels",
            "A,B,...",
            "--task tsv: the classes, in index order (default: the train file's labels, sorted)"));
    o.addOption(required("data-dir", "DIR", "folder with the task's train.tsv and dev TSVs"));
    o.addOption(
        required("checkpoint", "CKPT", "pretrained full BERT: directory (newest) or prefix"));
    o.addOption(required("config", "FILE", "bert_config.json of the checkpoint"));
    o.addOption(required("vocab", "FILE", "vocab.txt the checkpoint was trained with"));
    o.addOption(required("output-dir", "DIR", "fine-tuned checkpoint and eval_results.json"));
    o.addOption(valued("epochs", "N", "passes over train.tsv (default " + DEFAULT_EPOCHS + ")"));
    o.addOption(valued("lr", "RATE", "peak learning rate (default " + DEFAULT_LR + ")"));
    o.addOption(valued("batch-size", "N", "examples per step (default " + DEFAULT_BATCH + ")"));
    o.addOption(valued("max-seq-length", "T", "tokens per example (default " + DEFAULT_SEQ + ")"));
    o.addOption(valued("seed", "S", "seed for the head and the example order (default 12345)"));
    o.addOption(flag("no-lowercase", "keep case (for cased vocabularies)"));
    o.addOption(
        flag(
            "export",
            "also write <output-dir>/saved_model (serving_default returns logits and"
                + " probabilities, score for sts-b), or with --format huggingface"
                + " <output-dir>/huggingface (BertForSequenceClassification)"));
    o.addOption(
        valued(
            "format",
            "savedmodel|huggingface[,...]",
            "what --export writes; both, comma-separated, is allowed (default savedmodel)"));
    return o;
  }

  /** A GLUE task by name, or {@code tsv} with its columns and labels. */
  private static Task task(CommandLine line, Path dataDir) {
    String name = line.getOptionValue("task");
    if (!name.equalsIgnoreCase(TsvTask.NAME)) {
      for (String flag :
          List.of("text-column", "text-b-column", "label-column", "labels", "header")) {
        if (line.hasOption(flag)) {
          throw new UsageException("--" + flag + " is for --task tsv");
        }
      }
      try {
        return GlueTask.fromName(name);
      } catch (IllegalArgumentException e) {
        throw new UsageException("--task: " + e.getMessage() + ", tsv");
      }
    }
    if (!line.hasOption("text-column") || !line.hasOption("label-column")) {
      throw new UsageException("--task tsv needs --text-column and --label-column");
    }
    int text = intValue(line, "text-column", 0, 0);
    int label = intValue(line, "label-column", 0, 0);
    boolean header = line.hasOption("header");
    List<String> labels =
        line.hasOption("labels")
            ? List.of(line.getOptionValue("labels").split(","))
            : TsvTask.labelsOf(dataDir.resolve("train.tsv"), label, header);
    try {
      return new TsvTask(text, intValue(line, "text-b-column", -1, 0), label, header, labels);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--task tsv: " + e.getMessage());
    }
  }

  @Override
  public int run(CommandLine line) throws Exception {
    Path dataDir = Path.of(line.getOptionValue("data-dir"));
    if (!Files.isDirectory(dataDir)) {
      throw new UsageException("--data-dir: no such directory: " + dataDir);
    }
    Task task = task(line, dataDir);
    Path out = Path.of(line.getOptionValue("output-dir"));
    Files.createDirectories(out);
    var metrics =
        FineTuner.run(
            new FineTuner.Settings(
                task,
                dataDir,
                Optional.of(Checkpoints.resolve(line.getOptionValue("checkpoint"))),
                Flags.config(line),
                existingFile(line, "vocab"),
                out,
                intValue(line, "epochs", DEFAULT_EPOCHS, 1),
                doubleValue(line, "lr", DEFAULT_LR, 1e-9, 0.999),
                intValue(line, "batch-size", DEFAULT_BATCH, 1),
                intValue(line, "max-seq-length", DEFAULT_SEQ, 8),
                longValue(line, "seed", 12345, 0),
                !line.hasOption("no-lowercase"),
                line.hasOption("export") ? exportFormats(line) : List.of()));
    System.out.println(Jackson.write(metrics));
    return 0;
  }
}
