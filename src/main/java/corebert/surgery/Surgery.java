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
 * google-research/bert names. Every variable the two models share (embeddings, LayerNorms,
 * pooler, heads, and Q/K/V/O unless they are factorised) is copied as it is, with its Adam
 * moments. Each factorised kernel (the FFN's, and with {@code attention_rank} Q/K/V/O's) becomes
 * W = U·V, computed exactly in float32; its moments start at zero because the moments of U and V
 * say nothing about W's. The global step carries over, so CoRe's phase 2
 * continues the step axis.
 *
 * <p>The result checks itself: every copied tensor read back from the written checkpoint must
 * equal the relaxed one bit for bit, and on a random input each rebuilt dense layer and each FFN
 * sublayer of the converted model must give the relaxed model's output to float tolerance.
 */
public final class Surgery {
  private static final Logger LOG = Logger.getLogger(Surgery.class.getName());
  /** Rebuilt layers' outputs may differ by float rounding of U·V only. */
  static final double TOLERANCE = 1e-4;
  private static final int CHECK_ROWS = 64;

  /** What a conversion did and measured. */
  public record Report(
      Path checkpoint,
      long step,
      int copied,
      int rebuilt,
      double maxCopiedDifference,
      double maxFfnDifference,
      double maxDenseDifference) {}

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
          ((Number) m.get("max_ffn_diff")).doubleValue(),
          ((Number) m.getOrDefault("max_dense_diff", m.get("max_ffn_diff"))).doubleValue());
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
    m.put("max_dense_diff", r.maxDenseDifference());
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
      List<String> rebuilt = new ArrayList<>();
      int copied;
      long step;
      try (Result values = relaxed.read(relaxedNames)) {
        step = ((TInt64) values.get(index.get(GLOBAL_STEP))).getLong();
        Map<String, Tensor> copies = new LinkedHashMap<>();
        List<Tensor> factors = new ArrayList<>(); // U, V of each rebuilt kernel in turn
        for (String name : full.names()) {
          Integer i = index.get(name);
          if (i != null) {
            requireSameShape(name, relaxed.shape(name), full.shape(name));
            copies.put(name, values.get(i));
          } else if (isFactorised(name, index.keySet())) {
            rebuilt.add(name);
            factors.add(values.get(index.get(name + "_u")));
            factors.add(values.get(index.get(name + "_v")));
          } else if (!isSlotOfFactorised(name, index.keySet())) {
            throw new IllegalStateException("surgery has no rule for variable " + name);
          } // rebuilt kernels' slots keep their zero initial values
        }
        full.writeAll(copies);
        copied = copies.size();
        try (Result products = products(factors)) {
          Map<String, Tensor> kernels = new LinkedHashMap<>();
          for (int k = 0; k < rebuilt.size(); k++) {
            requireSameShape(rebuilt.get(k), products.get(k).shape(), full.shape(rebuilt.get(k)));
            kernels.put(rebuilt.get(k), products.get(k));
          }
          full.writeAll(kernels);
        }
      }
      Path written = full.save(outputDir, step);
      cfg.writeTo(outputDir.resolve(Trainer.BERT_CONFIG));
      try {
        Report report = verify(cfg, relaxed, full, written, copied, rebuilt.size(), step);
        writeReport(outputDir, report);
        LOG.info(
            String.format(
                "surgery: %d variables copied (max |diff| %.1e), %d kernels rebuilt as U·V"
                    + " (max |diff| of their dense layers %.2e, of the FFN sublayers %.2e) -> %s",
                copied, report.maxCopiedDifference(), rebuilt.size(), report.maxDenseDifference(),
                report.maxFfnDifference(), written));
        return report;
      } catch (RuntimeException e) {
        deleteCheckpoint(written);
        throw e;
      }
    }
  }

  /**
   * Reads the written checkpoint back from disk into {@code back} (the full model's checkpoint
   * graph) and compares it with the relaxed model.
   */
  private static Report verify(
      BertConfig cfg, CheckpointGraph relaxed, CheckpointGraph back, Path written, int copied,
      int rebuiltCount, long step) {
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
    List<String> rebuilt =
        back.names().stream().filter(name -> isFactorised(name, relaxedNames)).toList();
    double[] diffs = outputDifferences(cfg, relaxed, back, rebuilt);
    double denseDiff = diffs[0];
    double ffnDiff = diffs[1];
    if (copiedDiff != 0 || ffnDiff > TOLERANCE || denseDiff > TOLERANCE) {
      throw new IllegalStateException(
          String.format(
              "surgery check failed: copied variables differ by %.3e, rebuilt dense layers by"
                  + " %.3e, FFN outputs by %.3e (tolerance %.0e); nothing kept",
              copiedDiff, denseDiff, ffnDiff, TOLERANCE));
    }
    return new Report(written, step, copied, rebuiltCount, copiedDiff, ffnDiff, denseDiff);
  }

  /**
   * How far the converted model's rebuilt layers are from the relaxed ones on fixed random inputs
   * X [64, in], all in one graph: {max over rebuilt kernels of |X·U·V + b − (X·W + b)|, max over
   * layers of the FFN sublayer's |act(X·U₁·V₁ + b₁)·U₂·V₂ + b₂ − (act(X·W₁ + b₁)·W₂ + b₂)|}. The
   * first covers the factorised attention projections (Q, K, V, O), whose sublayer as a whole
   * changes with the attention kernel.
   */
  private static double[] outputDifferences(
      BertConfig cfg, CheckpointGraph relaxed, CheckpointGraph full, List<String> rebuilt) {
    List<String> relaxedNames = new ArrayList<>(); // every relaxed variable the checks read, once
    List<String> fullNames = new ArrayList<>();
    for (String kernel : rebuilt) {
      relaxedNames.addAll(List.of(kernel + "_u", kernel + "_v", biasOf(kernel)));
      fullNames.addAll(List.of(kernel, biasOf(kernel)));
    }
    try (Result r = relaxed.read(relaxedNames);
        Result f = full.read(fullNames);
        Graph g = new Graph();
        Session s = new Session(g)) {
      Map<String, Tensor> rv = byName(relaxedNames, r);
      Map<String, Tensor> fv = byName(fullNames, f);
      Ops tf = Ops.create(g);
      List<Operand<TFloat32>> dense = new ArrayList<>();
      for (String kernel : rebuilt) {
        int in = (int) full.shape(kernel).get(0);
        Operand<TFloat32> x = tf.constant(randomInput(in, kernel.hashCode())); // [64, in]
        Operand<TFloat32> yr = affine(tf, x, rv, kernel + "_u", kernel + "_v", biasOf(kernel));
        Operand<TFloat32> yf = affine(tf, x, fv, kernel, biasOf(kernel));
        dense.add(maxAbsDifference(tf, yr, yf));
      }
      List<Operand<TFloat32>> ffn = new ArrayList<>();
      for (int layer = 0; layer < cfg.numHiddenLayers(); layer++) {
        String in = join(ffnDense(layer, true), KERNEL);
        String out = join(ffnDense(layer, false), KERNEL);
        Operand<TFloat32> x = tf.constant(randomInput(cfg.hiddenSize(), layer)); // [64, H]
        Operand<TFloat32> hr =
            BertModel.activation(tf, cfg, affine(tf, x, rv, in + "_u", in + "_v", biasOf(in)));
        Operand<TFloat32> yr = affine(tf, hr, rv, out + "_u", out + "_v", biasOf(out)); // [64, H]
        Operand<TFloat32> hf = BertModel.activation(tf, cfg, affine(tf, x, fv, in, biasOf(in)));
        Operand<TFloat32> yf = affine(tf, hf, fv, out, biasOf(out)); // [64, H]
        ffn.add(maxAbsDifference(tf, yr, yf));
      }
      return new double[] {max(s, dense), max(s, ffn)};
    }
  }

  private static String biasOf(String kernel) {
    return kernel.substring(0, kernel.length() - KERNEL.length()) + BIAS;
  }

  private static Map<String, Tensor> byName(List<String> names, Result values) {
    Map<String, Tensor> m = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      m.put(names.get(i), values.get(i));
    }
    return m;
  }

  /** x · k₁ · k₂ ··· + bias, from the named 2-D kernels and the named bias (last). */
  private static Operand<TFloat32> affine(
      Ops tf, Operand<TFloat32> x, Map<String, Tensor> values, String... kernelsThenBias) {
    Operand<TFloat32> y = x;
    for (int i = 0; i < kernelsThenBias.length - 1; i++) {
      y = tf.linalg.matMul(y, tf.constantOf((TFloat32) values.get(kernelsThenBias[i])));
    }
    return tf.math.add(
        y, tf.constantOf((TFloat32) values.get(kernelsThenBias[kernelsThenBias.length - 1])));
  }

  /** max |a − b| over two [rows, cols] tensors: a scalar op. */
  private static Operand<TFloat32> maxAbsDifference(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b) {
    return tf.max(tf.math.abs(tf.math.sub(a, b)), tf.constant(new int[] {0, 1}));
  }

  /** The largest of scalar ops, run in one step; 0 for none. */
  private static double max(Session s, List<Operand<TFloat32>> scalars) {
    if (scalars.isEmpty()) {
      return 0;
    }
    Session.Runner runner = s.runner();
    scalars.forEach(runner::fetch);
    double max = 0;
    try (Result r = runner.run()) {
      for (int i = 0; i < scalars.size(); i++) {
        max = Math.max(max, ((TFloat32) r.get(i)).getFloat());
      }
    }
    return max;
  }

  /**
   * U·V of each pair in {@code factors} (U [a, r], V [r, b] alternating), in float32 with TF's
   * matmul, one session for all: the products in order; the caller closes the Result.
   */
  static Result products(List<Tensor> factors) {
    try (Graph g = new Graph();
        Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Session.Runner runner = s.runner();
      for (int i = 0; i < factors.size(); i += 2) {
        runner.fetch(
            tf.linalg.matMul(
                tf.constantOf((TFloat32) factors.get(i)), tf.constantOf((TFloat32) factors.get(i + 1))));
      }
      return runner.run(); // the tensors outlive the session that computed them
    }
  }

  private static float[][] randomInput(int hidden, int seed) {
    Random random = new Random(1234 + seed);
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

  /**
   * Whether a full-model kernel is factorised in the relaxed checkpoint whose variables are {@code
   * relaxedNames}: it is missing there, and its {@code kernel_u} and {@code kernel_v} are present.
   */
  private static boolean isFactorised(String name, Set<String> relaxedNames) {
    return name.endsWith("/" + KERNEL)
        && !relaxedNames.contains(name)
        && relaxedNames.contains(name + "_u")
        && relaxedNames.contains(name + "_v");
  }

  private static boolean isSlotOfFactorised(String name, Set<String> relaxedNames) {
    for (String slot : List.of(ADAM_M, ADAM_V)) {
      String suffix = "/" + slot;
      if (name.endsWith(suffix)
          && isFactorised(name.substring(0, name.length() - suffix.length()), relaxedNames)) {
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
      BertConfig.Relaxed was = savedRelaxed.get();
      BertConfig.Relaxed want = cfg.requireRelaxed();
      throw new IllegalArgumentException(
          "the relaxed checkpoint " + relaxedPrefix + " has ffn_rank " + was.ffnRank()
              + " and attention_rank " + was.attentionRank() + ", --config has "
              + want.ffnRank() + " and " + want.attentionRank() + "; nothing written");
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
