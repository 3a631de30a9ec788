package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.bench.CoreVsBaseline;
import corebert.glue.GlueTask;
import corebert.model.BertConfig;
import corebert.util.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert bench core-vs-baseline`: CoRe against a from-scratch BERT at the same wall-clock
 * budget, held-out loss along the way, speedup to the baseline's final loss.
 */
final class BenchCoreCommand implements Command {
  @Override
  public String name() {
    return "bench core-vs-baseline";
  }

  @Override
  public String summary() {
    return "CoRe vs from-scratch BERT, same budget: held-out loss over time, speedup -> JSON + PNG";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("config", "FILE", "bert_config.json with a \"relaxed\" block"));
    o.addOption(requiredList("input", "GLOB", "pretraining TFRecords"));
    o.addOption(requiredList("eval-input", "GLOB", "held-out TFRecords"));
    o.addOption(required("time-budget", "SEC", "wall-clock training seconds of each run"));
    o.addOption(valued("eval-every", "SEC", "checkpoint (and later evaluate) every SEC seconds (default budget/10)"));
    o.addOption(valued("relaxed-fractions", "F,...", "CoRe's phase-1 share of the budget; one run each (default 0.5)"));
    o.addOption(valued("ffn-ranks", "R,...", "relaxed FFN ranks; one run each (default: the config's)"));
    o.addOption(valued("batch-size", "N", "sequences per step (default 32)"));
    o.addOption(valued("lr", "RATE", "peak learning rate (default 1e-3)"));
    o.addOption(valued("warmup-steps", "N", "warm-up steps of both runs (default 200)"));
    o.addOption(valued("full-warmup-steps", "N", "CoRe phase 2's re-warm-up (default 10)"));
    o.addOption(valued("full-lrs", "RATE,...", "CoRe phase 2's peak learning rates; one run each (default: --lr)"));
    o.addOption(valued("seed", "S", "seed of both runs (default 12345)"));
    o.addOption(valued("work-dir", "DIR", "scratch checkpoints, emptied per run (default work/bench-core)"));
    o.addOption(valued("output", "PREFIX", "writes PREFIX.json and PREFIX.png (default eval/core-vs-baseline)"));
    o.addOption(valued("finetune-data", "DIR", "also fine-tune both final models on this SST-2-format task"));
    o.addOption(valued("vocab", "FILE", "vocab.txt of the TFRecords (with --finetune-data)"));
    o.addOption(valued("finetune-epochs", "N", "fine-tuning epochs (default 3)"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    BertConfig cfg = PretrainCommand.relaxedConfig(line);
    double budget = doubleValue(line, "time-budget", 0, 1, 1e7);
    Optional<CoreVsBaseline.Finetune> finetune = Optional.empty();
    if (line.hasOption("finetune-data")) {
      Path data = Path.of(line.getOptionValue("finetune-data"));
      if (!Files.isDirectory(data)) {
        throw new UsageException("--finetune-data: no such directory: " + data);
      }
      if (!line.hasOption("vocab")) {
        throw new UsageException("--finetune-data needs --vocab");
      }
      finetune =
          Optional.of(
              new CoreVsBaseline.Finetune(
                  GlueTask.fromName("sst-2"), data, existingFile(line, "vocab"),
                  intValue(line, "finetune-epochs", 3, 1), 5e-4, 64));
    }
    Path prefix = Path.of(line.getOptionValue("output", "eval/core-vs-baseline"));
    Map<String, Object> out =
        CoreVsBaseline.run(
            new CoreVsBaseline.Settings(
                cfg,
                Path.of(line.getOptionValue("config")),
                globs(line, "input"),
                globs(line, "eval-input"),
                budget,
                doubleValue(line, "eval-every", budget / 10, 1, budget),
                doubleList(line, "relaxed-fractions", "0.5", 0.01, 0.99),
                intList(line, "ffn-ranks", String.valueOf(cfg.relaxed().get().ffnRank()), 1),
                intValue(line, "batch-size", 32, 1),
                doubleValue(line, "lr", 1e-3, 1e-9, 0.999),
                longValue(line, "warmup-steps", 200, 0),
                longValue(line, "full-warmup-steps", 10, 0),
                doubleList(line, "full-lrs", line.getOptionValue("lr", "1e-3"), 1e-9, 0.999),
                longValue(line, "seed", 12345, 0),
                Path.of(line.getOptionValue("work-dir", "work/bench-core")),
                prefix,
                finetune,
                echo(name(), line)));
    Map<String, Object> result = new LinkedHashMap<>();
    result.put("speedup", out.get("speedup"));
    result.put("result", prefix + ".json");
    System.out.println(Json.write(result));
    return 0;
  }
}
