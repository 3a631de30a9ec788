package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * The relaxed block's {@code qk_bound}: after every phase-1 update, each layer's ‖Wq‖_F·‖Wk‖_F is
 * at most the bound (bert-tiny starts near 6.5, so a bound of 0.5 is active from the first step).
 */
class QkBoundTest {
  @TempDir Path dir;
  private final BrownFixture data = BrownFixture.get();

  @Test
  void phaseOneKeepsTheQueryKeyNormsWithinTheBound() throws Exception {
    Path bounded = data.configWith(dir, "bounded.json", "ffn_rank", "32", "32, \"qk_bound\": 0.5");
    double[] withBound = normProducts(bounded, dir.resolve("bounded"));
    double[] without = normProducts(data.config, dir.resolve("free"));
    for (int l = 0; l < withBound.length; l++) {
      assertEquals(0.5, withBound[l], 1e-4, "layer " + l + " with qk_bound 0.5");
      assertTrue(without[l] > 2, "layer " + l + " without a bound: " + without[l]);
    }
  }

  /** Three relaxed steps with {@code config}; each layer's ‖Wq‖_F·‖Wk‖_F in the last checkpoint. */
  private double[] normProducts(Path config, Path out) {
    Cli.ok(
        Cli.run(
            BrownFixture.pretrainArgs(config, data.trainGlob(), out.toString()),
            "--model",
            "relaxed",
            "--steps",
            "3",
            "--batch-size",
            "8",
            "--lr",
            "1e-3",
            "--warmup-steps",
            "0"));
    BertConfig cfg = BertConfig.fromJsonFile(config);
    List<String> names = new ArrayList<>();
    for (int l = 0; l < cfg.numHiddenLayers(); l++) {
      names.add("bert/encoder/layer_" + l + "/attention/self/query/kernel");
      names.add("bert/encoder/layer_" + l + "/attention/self/key/kernel");
    }
    double[] products = new double[cfg.numHiddenLayers()];
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.RELAXED)) {
      g.restore(Checkpoints.latest(out).orElseThrow().toString());
      try (Result r = g.read(names)) {
        for (int l = 0; l < products.length; l++) {
          products[l] = frobenius((TFloat32) r.get(2 * l)) * frobenius((TFloat32) r.get(2 * l + 1));
        }
      }
    }
    return products;
  }

  private static double frobenius(TFloat32 t) {
    float[] x = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(x, false, false));
    double sum = 0;
    for (float v : x) {
      sum += (double) v * v;
    }
    return Math.sqrt(sum);
  }
}
