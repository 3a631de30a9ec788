package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.model.BertConfig;
import corebert.surgery.Surgery;
import corebert.train.Checkpoints;
import corebert.train.RunDir;
import corebert.util.Jackson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert convert`: graph surgery from a relaxed checkpoint to a full-BERT checkpoint. */
final class ConvertCommand implements Command {
  @Override
  public String name() {
    return "convert";
  }

  @Override
  public String summary() {
    return "graph surgery: relaxed-BERT checkpoint -> full-BERT checkpoint (W = U·V), self-checked";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(
        required(
            "config",
            "FILE",
            "bert_config.json with the relaxed block the checkpoint was trained with"));
    o.addOption(
        required(
            "relaxed-checkpoint",
            "CKPT",
            "relaxed checkpoint: directory (newest), a core run's directory (its relaxed/), or prefix"));
    o.addOption(required("output-dir", "DIR", "where the full checkpoint and bert_config.json go"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    BertConfig cfg = Flags.config(line);
    if (cfg.relaxed().isEmpty()) {
      throw new UsageException(
          "--config "
              + line.getOptionValue("config")
              + " has no \"relaxed\" block; give the config the relaxed model was trained with");
    }
    // A core run's directory stands for its relaxed phase here, not its full BERT.
    Path given = Path.of(line.getOptionValue("relaxed-checkpoint"));
    Path coreRelaxed = given.resolve(RunDir.CORE_RELAXED);
    Path relaxed =
        Checkpoints.resolve(
            Files.isDirectory(coreRelaxed) && Checkpoints.latest(given).isEmpty()
                ? coreRelaxed.toString()
                : given.toString());
    Surgery.Report r = Surgery.convert(cfg, relaxed, Path.of(line.getOptionValue("output-dir")));
    System.out.println(
        Jackson.write(
            new Converted(
                r.checkpoint().toString(),
                r.step(),
                r.copied(),
                r.rebuilt(),
                r.maxCopiedDifference(),
                r.maxFfnDifference(),
                r.maxDenseDifference(),
                r.qkNorms())));
    return 0;
  }

  /** The printed line: what surgery wrote, and its self-check's largest differences. */
  private record Converted(
      String checkpoint,
      long step,
      int copiedVariables,
      int rebuiltKernels,
      double maxCopiedDiff,
      double maxFfnOutputDiff,
      double maxDenseOutputDiff,
      List<Double> qkNormPerLayer) {}
}
