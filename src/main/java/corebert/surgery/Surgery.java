package corebert.surgery;

import static corebert.model.VariableNames.*;

import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import corebert.train.Trainer;
import corebert.util.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.logging.Logger;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * CoRe's graph surgery: turns a relaxed-BERT checkpoint into a full-BERT checkpoint with
 * google-research/bert names. Every variable the two models share (embeddings, Q/K/V/O,
 * LayerNorms, pooler, heads) is copied as it is, with its Adam moments. Each factorised FFN
 * kernel becomes W = U·V, computed exactly in float32; its moments start at zero because the
 * moments of U and V say nothing about W's. The global step carries over, so CoRe's phase 2
 * continues the step axis.
 *
 * <p>The result checks itself: every copied tensor read back from the written checkpoint must
 * equal the relaxed one bit for bit, and on a random input each FFN sublayer of the converted
 * model must give the relaxed model's output to float tolerance.
 */
public final class Surgery {
  private static final Logger LOG = Logger.getLogger(Surgery.class.getName());
  /** FFN outputs of the two models may differ by float rounding of U·V only. */
  static final double FFN_TOLERANCE = 1e-4;
  private static final int CHECK_ROWS = 64;

  /** What a conversion did and measured. */
  public record Report(
      Path checkpoint,
      long step,
      int copied,
      int rebuilt,
      double maxCopiedDifference,
      double maxFfnDifference) {}

  /** The report surgery leaves next to the checkpoint it wrote. */
  public static final String REPORT_FILE = "surgery.json";

  private Surgery() {}

  /** Reads the report a conversion left in {@code dir}. */
  public static Report readReport(Path dir) {
    Path file = dir.resolve(REPORT_FILE);
    try {
      Map<String, Object> m = Json.parseObject(Files.readString(file));
      return new Report(
          dir.resolve((String) m.get("checkpoint")),
          ((Number) m.get("step")).longValue(),
          ((Number) m.get("copied")).intValue(),
          ((Number) m.get("rebuilt")).intValue(),
          ((Number) m.get("max_copied_diff")).doubleValue(),
          ((Number) m.get("max_ffn_diff")).doubleValue());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read surgery report " + file, e);
    }
  }

  private static void writeReport(Path dir, Report r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("checkpoint", r.checkpoint().getFileName().toString());
    m.put("step", r.step());
    m.put("copied", r.copied());
    m.put("rebuilt", r.rebuilt());
    m.put("max_copied_diff", r.maxCopiedDifference());
    m.put("max_ffn_diff", r.maxFfnDifference());
    Checkpoints.writeAtomically(dir.resolve(REPORT_FILE), Json.writePretty(m));
  }

  /**
   * Converts {@code relaxedPrefix} (trained with {@code cfg}'s relaxed block) into {@code
   * outputDir/model.ckpt-<step>}. A checkpoint of another architecture is refused before anything
   * is written.
   */
  public static Report convert(BertConfig cfg, Path relaxedPrefix, Path outputDir) {
    cfg.requireRelaxed();
    refuseOtherArchitecture(cfg, relaxedPrefix);
    try (CheckpointGraph relaxed = CheckpointGraph.build(cfg, Variant.RELAXED);
        CheckpointGraph full = CheckpointGraph.build(cfg, Variant.FULL)) {
      try {
        relaxed.restore(relaxedPrefix.toString());
      } catch (TensorFlowException e) {
        throw new IllegalArgumentException(
            relaxedPrefix + " is not a relaxed checkpoint of this config: "
                + e.getMessage().lines().findFirst().orElse(""), e);
      }
      List<String> relaxedNames = relaxed.names();
      Map<String, Integer> index = new LinkedHashMap<>();
      for (int i = 0; i < relaxedNames.size(); i++) {
        index.put(relaxedNames.get(i), i);
      }
      int copied = 0;
      int rebuilt = 0;
      long step;
      try (Result values = relaxed.read(relaxedNames)) {
        step = ((TInt64) values.get(index.get(GLOBAL_STEP))).getLong();
        for (String name : full.names()) {
          Integer i = index.get(name);
          if (i != null) {
            requireSameShape(name, relaxed.shape(name), full.shape(name));
            full.write(name, values.get(i));
            copied++;
          } else if (isFfnKernel(name)) {
            String dense = name.substring(0, name.length() - KERNEL.length() - 1);
            try (TFloat32 w =
                product(
                    (TFloat32) values.get(index.get(join(dense, KERNEL_U))),
                    (TFloat32) values.get(index.get(join(dense, KERNEL_V))))) {
              full.write(name, w);
            }
            rebuilt++;
          } else if (!isFfnKernelSlot(name)) {
            throw new IllegalStateException("surgery has no rule for variable " + name);
          } // rebuilt kernels' slots keep their zero initial values
        }
      }
      Path written = full.save(outputDir, step);
      cfg.writeTo(outputDir.resolve(Trainer.BERT_CONFIG));
      try {
        Report report = verify(cfg, relaxed, written, copied, rebuilt, step);
        writeReport(outputDir, report);
        LOG.info(
            String.format(
                "surgery: %d variables copied (max |diff| %.1e), %d FFN kernels rebuilt as U·V"
                    + " (max FFN output |diff| %.2e) -> %s",
                copied, report.maxCopiedDifference(), rebuilt, report.maxFfnDifference(), written));
        return report;
      } catch (RuntimeException e) {
        deleteCheckpoint(written);
        throw e;
      }
    }
  }

  /** Reads the written checkpoint back and compares it with the relaxed model. */
  private static Report verify(
      BertConfig cfg, CheckpointGraph relaxed, Path written, int copied, int rebuilt, long step) {
    try (CheckpointGraph back = CheckpointGraph.build(cfg, Variant.FULL)) {
      back.restore(written.toString());
      double copiedDiff = 0;
      Set<String> relaxedNames = new HashSet<>(relaxed.names());
      List<String> shared = new ArrayList<>();
      for (String name : back.names()) {
        if (relaxedNames.contains(name) && back.isFloat(name)) {
          shared.add(name);
        }
      }
      try (Result a = relaxed.read(shared);
          Result b = back.read(shared)) {
        for (int i = 0; i < shared.size(); i++) {
          copiedDiff = Math.max(copiedDiff, maxAbsDiff((TFloat32) a.get(i), (TFloat32) b.get(i)));
        }
      }
      double ffnDiff = 0;
      for (int layer = 0; layer < cfg.numHiddenLayers(); layer++) {
        ffnDiff = Math.max(ffnDiff, ffnDifference(cfg, relaxed, back, layer));
      }
      if (copiedDiff != 0 || ffnDiff > FFN_TOLERANCE) {
        throw new IllegalStateException(
            String.format(
                "surgery check failed: copied variables differ by %.3e, FFN outputs by %.3e"
                    + " (tolerance %.0e); nothing kept",
                copiedDiff, ffnDiff, FFN_TOLERANCE));
      }
      return new Report(written, step, copied, rebuilt, copiedDiff, ffnDiff);
    }
  }

  /**
   * Max |relaxed − full| of one layer's FFN sublayer on a fixed random input X [64, H]:
   * act(X·U₁·V₁ + b₁)·U₂·V₂ + b₂ against act(X·W₁ + b₁)·W₂ + b₂.
   */
  static double ffnDifference(BertConfig cfg, CheckpointGraph relaxed, CheckpointGraph full, int layer) {
    String in = ffnDense(layer, true);
    String out = ffnDense(layer, false);
    List<String> relaxedNames =
        List.of(join(in, KERNEL_U), join(in, KERNEL_V), join(in, BIAS), join(out, KERNEL_U),
            join(out, KERNEL_V), join(out, BIAS));
    List<String> fullNames = List.of(join(in, KERNEL), join(in, BIAS), join(out, KERNEL), join(out, BIAS));
    try (Result r = relaxed.read(relaxedNames);
        Result f = full.read(fullNames);
        Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> x = tf.constant(randomInput(cfg.hiddenSize(), layer)); // [64, H]
      Operand<TFloat32> hr =
          BertModel.activation(
              tf, cfg, tf.math.add(chain(tf, x, r.get(0), r.get(1)), tf.constantOf((TFloat32) r.get(2))));
      Operand<TFloat32> yr =
          tf.math.add(chain(tf, hr, r.get(3), r.get(4)), tf.constantOf((TFloat32) r.get(5))); // [64, H]
      Operand<TFloat32> hf =
          BertModel.activation(tf, cfg, tf.math.add(chain(tf, x, f.get(0)), tf.constantOf((TFloat32) f.get(1))));
      Operand<TFloat32> yf = tf.math.add(chain(tf, hf, f.get(2)), tf.constantOf((TFloat32) f.get(3)));
      Operand<TFloat32> diff = tf.max(tf.math.abs(tf.math.sub(yr, yf)), tf.constant(new int[] {0, 1}));
      try (Result d = s.runner().fetch(diff).run()) {
        return ((TFloat32) d.get(0)).getFloat();
      }
    }
  }

  /** x · k₁ · k₂ ···, each factor a 2-D float tensor. */
  private static Operand<TFloat32> chain(Ops tf, Operand<TFloat32> x, Tensor... factors) {
    Operand<TFloat32> y = x;
    for (Tensor k : factors) {
      y = tf.linalg.matMul(y, tf.constantOf((TFloat32) k));
    }
    return y;
  }

  /** U [a, r] · V [r, b] in float32 with TF's matmul: the same kernel the full model then uses. */
  static TFloat32 product(TFloat32 u, TFloat32 v) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      try (Result r = s.runner().fetch(tf.linalg.matMul(tf.constantOf(u), tf.constantOf(v))).run()) {
        TFloat32 w = (TFloat32) r.get(0);
        // Copy out: the Result closes its tensors.
        TFloat32 copy = TFloat32.tensorOf(w.shape());
        w.copyTo(copy);
        return copy;
      }
    }
  }

  private static float[][] randomInput(int hidden, int layer) {
    Random random = new Random(1234 + layer);
    float[][] x = new float[CHECK_ROWS][hidden];
    for (float[] row : x) {
      for (int j = 0; j < hidden; j++) {
        row[j] = (float) random.nextGaussian();
      }
    }
    return x;
  }

  private static double maxAbsDiff(TFloat32 a, TFloat32 b) {
    if (!a.shape().equals(b.shape())) {
      return Double.POSITIVE_INFINITY;
    }
    float[] x = new float[(int) a.shape().size()];
    float[] y = new float[x.length];
    a.copyTo(DataBuffers.of(x, false, false));
    b.copyTo(DataBuffers.of(y, false, false));
    double max = 0;
    for (int i = 0; i < x.length; i++) {
      max = Math.max(max, Math.abs(x[i] - y[i]));
    }
    return max;
  }

  private static boolean isFfnKernel(String name) {
    return (name.contains("/" + INTERMEDIATE + "/" + DENSE + "/") || name.matches(".*/layer_\\d+/output/dense/.*"))
        && name.endsWith("/" + DENSE + "/" + KERNEL);
  }

  private static boolean isFfnKernelSlot(String name) {
    for (String slot : List.of(ADAM_M, ADAM_V)) {
      if (name.endsWith("/" + slot) && isFfnKernel(name.substring(0, name.length() - slot.length() - 1))) {
        return true;
      }
    }
    return false;
  }

  private static void requireSameShape(String name, Shape a, Shape b) {
    if (!a.equals(b)) {
      throw new IllegalArgumentException(
          "variable " + name + " has shape " + a + " in the relaxed checkpoint but " + b + " in the full model");
    }
  }

  /**
   * Refuses a relaxed checkpoint whose saved {@code bert_config.json} has other shapes than
   * {@code cfg}, naming the first differing key.
   */
  private static void refuseOtherArchitecture(BertConfig cfg, Path relaxedPrefix) {
    Path saved = relaxedPrefix.resolveSibling(Trainer.BERT_CONFIG);
    if (!Files.exists(saved)) {
      return; // the restore below still fails on any shape mismatch
    }
    Optional<String> mismatch = BertConfig.fromJsonFile(saved).shapeMismatch(cfg);
    if (mismatch.isPresent()) {
      throw new IllegalArgumentException(
          "the relaxed checkpoint " + relaxedPrefix + " was trained with another config ("
              + mismatch.get() + " in " + saved + " vs --config); nothing written");
    }
    Optional<BertConfig.Relaxed> savedRelaxed = BertConfig.fromJsonFile(saved).relaxed();
    if (savedRelaxed.isPresent() && !savedRelaxed.equals(cfg.relaxed())) {
      throw new IllegalArgumentException(
          "the relaxed checkpoint " + relaxedPrefix + " has ffn_rank "
              + savedRelaxed.get().ffnRank() + ", --config has " + cfg.requireRelaxed().ffnRank()
              + "; nothing written");
    }
  }

  private static void deleteCheckpoint(Path prefix) {
    try (var files = Files.newDirectoryStream(prefix.getParent(), prefix.getFileName() + ".*")) {
      for (Path p : files) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove failed checkpoint " + prefix, e);
    }
  }
}
