package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.glue.FineTuner;
import corebert.glue.GlueTask;
import corebert.train.Checkpoints;
import corebert.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert finetune`: GLUE-format TSVs → fine-tuned classifier; last stdout line = dev metrics. */
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
    return "fine-tune on a GLUE-format task (cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte, wnli)";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("task", "NAME", "cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte or wnli"));
    o.addOption(required("data-dir", "DIR", "folder with the task's train.tsv and dev TSVs"));
    o.addOption(required("checkpoint", "CKPT", "pretrained full BERT: directory (newest) or prefix"));
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
            "also write <output-dir>/saved_model: serving_default returns logits and"
                + " probabilities (score for sts-b)"));
    return o;
  }

  @Override
  public int run(CommandLine line) throws Exception {
    GlueTask task;
    try {
      task = GlueTask.fromName(line.getOptionValue("task"));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--task: " + e.getMessage());
    }
    Path dataDir = Path.of(line.getOptionValue("data-dir"));
    if (!Files.isDirectory(dataDir)) {
      throw new UsageException("--data-dir: no such directory: " + dataDir);
    }
    Path out = Path.of(line.getOptionValue("output-dir"));
    Files.createDirectories(out);
    var metrics =
        FineTuner.run(
            new FineTuner.Settings(
                task,
                dataDir,
                Checkpoints.resolve(line.getOptionValue("checkpoint")),
                PretrainCommand.config(line),
                existingFile(line, "vocab"),
                out,
                intValue(line, "epochs", DEFAULT_EPOCHS, 1),
                doubleValue(line, "lr", DEFAULT_LR, 1e-9, 0.999),
                intValue(line, "batch-size", DEFAULT_BATCH, 1),
                intValue(line, "max-seq-length", DEFAULT_SEQ, 8),
                longValue(line, "seed", 12345, 0),
                !line.hasOption("no-lowercase"),
                line.hasOption("export")));
    System.out.println(Json.write(metrics));
    return 0;
  }
}
