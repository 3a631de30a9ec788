package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.ModelStats;
import corebert.util.Jackson;
import java.util.LinkedHashMap;
import java.util.Map;
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
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("seq", seq);
    ModelStats full = ModelStats.of(cfg, Variant.FULL, seq, fraction);
    out.put("full", stats(full));
    if (cfg.relaxed().isPresent()) {
      ModelStats relaxed = ModelStats.of(cfg, Variant.RELAXED, seq, fraction);
      out.put("relaxed", stats(relaxed));
      out.put(
          "flops_ratio_full_over_relaxed",
          full.forwardFlopsPerToken() / relaxed.forwardFlopsPerToken());
    }
    System.out.println(Jackson.write(out));
    return 0;
  }

  private static Map<String, Object> stats(ModelStats s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("parameters", s.parameters());
    m.put("train_flops_per_token", s.trainFlopsPerToken());
    return m;
  }
}
