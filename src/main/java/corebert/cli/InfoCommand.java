package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.ModelStats;
import corebert.util.Jackson;
import java.util.Optional;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert info`: parameters and training FLOPs per token of the full and relaxed models. */
final class InfoCommand implements Command {
  @Override
  public String name() {
    return "info";
  }

  @Override
  public String summary() {
    return "parameter count and FLOPs per token of the full and relaxed models of a config";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(
        required("config", "FILE", "bert_config.json (with a relaxed block for both models)"));
    o.addOption(valued("seq", "T", "sequence length for the FLOP count (default 128)"));
    o.addOption(valued("max-predictions", "P", "masked positions per sequence (default 20)"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    BertConfig cfg = Flags.config(line);
    int seq = intValue(line, "seq", 128, 1);
    double fraction = intValue(line, "max-predictions", 20, 0) / (double) seq;
    ModelStats full = ModelStats.of(cfg, Variant.FULL, seq, fraction);
    Optional<ModelStats> relaxed =
        cfg.relaxed().map(r -> ModelStats.of(cfg, Variant.RELAXED, seq, fraction));
    System.out.println(
        Jackson.write(
            new Info(
                seq,
                Stats.of(full),
                relaxed.map(Stats::of).orElse(null),
                relaxed
                    .map(r -> full.forwardFlopsPerToken() / r.forwardFlopsPerToken())
                    .orElse(null))));
    return 0;
  }

  /** The printed line; the relaxed figures only when the config has a relaxed block. */
  private record Info(int seq, Stats full, Stats relaxed, Double flopsRatioFullOverRelaxed) {}

  private record Stats(long parameters, double trainFlopsPerToken) {
    static Stats of(ModelStats s) {
      return new Stats(s.parameters(), s.trainFlopsPerToken());
    }
  }
}
