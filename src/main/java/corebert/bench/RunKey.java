package corebert.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import corebert.model.BertConfig;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;

/**
 * Everything that makes two benchmark runs of one setting and seed the same measurement: a stored
 * run is reused only under an equal key. {@code fullWarmupSteps} is CoRe's alone (null for a
 * baseline), and a baseline's {@code model} leaves out the config's "relaxed" block, which only
 * CoRe reads, so changing CoRe's side never retrains the baselines.
 */
record RunKey(
    String setting,
    long seed,
    double budgetSec,
    double evalEverySec,
    String curveMetric,
    int batchSize,
    long warmupSteps,
    Long fullWarmupSteps,
    String precision,
    List<String> train,
    List<String> eval,
    JsonNode model) {
  /** What the curve's loss is; curves of another metric are not comparable, so not reused. */
  static final String METRIC = "mlm_loss_masked";

  /** The run's name: its store entry and its scratch directory. */
  String name() {
    return String.format(Locale.ROOT, "%s-t%.0f-s%d", setting, budgetSec, seed);
  }

  /** {@code cfg} as the key holds it: a full BERT's without the "relaxed" block. */
  static JsonNode model(BertConfig cfg, boolean full) {
    try {
      ObjectNode tree = (ObjectNode) Jackson.MAPPER.readTree(cfg.toJson());
      if (full) {
        tree.remove("relaxed");
      }
      return tree;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read back the config's own JSON", e);
    }
  }
}
