package corebert.surgery;

import static corebert.model.VariableNames.*;

import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import corebert.train.RunDir;
import corebert.util.Jackson;
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
import java.util.function.Function;
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
 * google-research/bert names. Every variable the two models share (embeddings, LayerNorms, pooler,
 * heads, and Q/K/V/O unless they are factorised) is copied as it is, with its Adam moments. Each
 * factorised kernel (the FFN's, and with {@code attention_rank} Q/K/V/O's) becomes W = U·V,
 * computed exactly in float32; its moments start at zero because the moments of U and V say nothing
 * about W's. The global step carries over, so CoRe's phase 2 continues the step axis.
 *
 * <p>The result checks itself: every copied tensor read back from the written checkpoint must equal
 * the relaxed one bit for bit, and on a random input each rebuilt dense layer and each FFN sublayer
 * of the converted model must give the relaxed model's output to float tolerance.
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
      double maxDenseDifference,
      List<Double> qkNorms,
      List<Double> temperatures) {
    Report withTemperatures(List<Double> tau) {
      return new Report(
          checkpoint,
          step,
          copied,
          rebuilt,
          maxCopiedDifference,
          maxFfnDifference,
          maxDenseDifference,
          qkNorms,
          List.copyOf(tau));
    }
  }

  /**
   * Fit a softmax temperature per layer ({@link Temperature}) on the first {@code batches} batches
   * of {@code batchSize} records of {@code inputs} (training records).
   */
  public record TemperatureFit(List<Path> inputs, int batchSize, int batches) {
    public TemperatureFit {
      inputs = List.copyOf(inputs);
      if (inputs.isEmpty() || batchSize < 1 || batches < 1) {
        throw new IllegalArgumentException(
            "a temperature fit needs records, a batch size and batches >= 1");
      }
    }
  }

  private Surgery() {}

  /**
   * surgery.json as written: the checkpoint's file name, the checks, and per layer the Q·K norm and
   * any fitted temperature. Reports written before the Q·K norms, the dense check or the
   * temperature existed lack them.
   */
  record ReportFile(
      String checkpoint,
      long step,
      int copied,
      int rebuilt,
      double maxCopiedDiff,
      double maxFfnDiff,
      Double maxDenseDiff,
      List<Double> qkNormPerLayer,
      List<Double> temperaturePerLayer) {}

  /** Reads the report a conversion left in {@code dir}. */
  public static Report readReport(Path dir) {
    Path file = dir.resolve(RunDir.SURGERY_REPORT);
    ReportFile f;
    try {
      f = Jackson.read(Files.readString(file), ReportFile.class);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read surgery report " + file, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    return new Report(
        dir.resolve(f.checkpoint()),
        f.step(),
        f.copied(),
        f.rebuilt(),
        f.maxCopiedDiff(),
        f.maxFfnDiff(),
        f.maxDenseDiff() == null ? f.maxFfnDiff() : f.maxDenseDiff(),
        f.qkNormPerLayer() == null ? List.of() : f.qkNormPerLayer(),
        f.temperaturePerLayer() == null ? List.of() : f.temperaturePerLayer());
  }

  private static void writeReport(Path dir, Report r) {
    ReportFile f =
        new ReportFile(
            r.checkpoint().getFileName().toString(),
            r.step(),
            r.copied(),
            r.rebuilt(),
            r.maxCopiedDifference(),
            r.maxFfnDifference(),
            r.maxDenseDifference(),
            r.qkNorms(),
            r.temperatures().isEmpty() ? null : r.temperatures());
    Checkpoints.writeAtomically(dir.resolve(RunDir.SURGERY_REPORT), Jackson.writePretty(f));
  }

  /**
   * Converts {@code relaxedPrefix} (trained with {@code cfg}'s relaxed block) into {@code
   * outputDir/model.ckpt-<step>}. A checkpoint of another architecture is refused before anything
   * is written.
   */
  public static Report convert(BertConfig cfg, Path relaxedPrefix, Path outputDir) {
    return convert(cfg, relaxedPrefix, outputDir, Optional.empty());
  }

  /**
   * As {@link #convert(BertConfig, Path, Path)}; with {@code fit}, the checked conversion then gets
   * a softmax temperature per layer folded into its query kernels and biases ({@link Temperature})
   * and is written again.
   */
  public static Report convert(
      BertConfig cfg, Path relaxedPrefix, Path outputDir, Optional<TemperatureFit> fit) {
    cfg.requireRelaxed();
    refuseOtherArchitecture(cfg, relaxedPrefix);
    try (CheckpointGraph relaxed = CheckpointGraph.build(cfg, Variant.RELAXED);
        CheckpointGraph full = CheckpointGraph.build(cfg, Variant.FULL)) {
      try {
        relaxed.restore(relaxedPrefix.toString());
      } catch (TensorFlowException e) {
        throw new IllegalArgumentException(
            relaxedPrefix
                + " is not a relaxed checkpoint of this config: "
                + Checkpoints.firstLine(e),
            e);
      }
      Transfer t = transfer(relaxed, full);
      Path written = full.save(outputDir, t.step());
      cfg.writeTo(outputDir.resolve(RunDir.BERT_CONFIG));
      try {
        Report report =
            verify(
                cfg,
                relaxed,
                relaxedPrefix,
                full,
                written,
                t.copied(),
                t.rebuilt().size(),
                t.step());
        if (fit.isPresent()) {
          Path scratch = outputDir.resolve(".temperature-fit");
          try {
            List<Double> tau = Temperature.fitAndFold(cfg, full, t.step(), fit.get(), scratch);
            full.save(outputDir, t.step());
            report = report.withTemperatures(tau);
          } finally {
            removeScratch(scratch);
          }
        }
        writeReport(outputDir, report);
        LOG.info(
            String.format(
                "surgery: %d variables copied (max |diff| %.1e), %d kernels rebuilt as U·V"
                    + " (max |diff| of their dense layers %.2e, of the FFN sublayers %.2e) -> %s",
                t.copied(),
                report.maxCopiedDifference(),
                t.rebuilt().size(),
                report.maxDenseDifference(),
                report.maxFfnDifference(),
                written));
        return report;
      } catch (RuntimeException e) {
        deleteCheckpoint(written);
        throw e;
      }
    }
  }

  /** What {@link #transfer} did: the step, the variables copied, the kernels rebuilt. */
  private record Transfer(long step, int copied, List<String> rebuilt) {}

  /**
   * Fills the full graph from the relaxed one: every shared variable (with its slots) copied, every
   * factorised kernel rebuilt as W = U·V (its slots keep their zero initial values).
   */
  private static Transfer transfer(CheckpointGraph relaxed, CheckpointGraph full) {
    List<String> relaxedNames = relaxed.names();
    Map<String, Integer> index = new LinkedHashMap<>();
    for (int i = 0; i < relaxedNames.size(); i++) {
      index.put(relaxedNames.get(i), i);
    }
    List<String> rebuilt = new ArrayList<>();
    try (Result values = relaxed.read(relaxedNames)) {
      long step = ((TInt64) values.get(index.get(GLOBAL_STEP))).getLong();
      Map<String, Tensor> copies = new LinkedHashMap<>();
      List<Tensor> factors = new ArrayList<>(); // U, V of each rebuilt kernel in turn
      for (String name : full.names()) {
        Integer i = index.get(name);
        if (i != null) {
          requireSameShape(name, relaxed.shape(name), full.shape(name));
          copies.put(name, values.get(i));
        } else if (isFactorised(name, index.keySet())) {
          rebuilt.add(name);
          factors.add(values.get(index.get(factorU(name))));
          factors.add(values.get(index.get(factorV(name))));
        } else if (!isSlotOfFactorised(name, index.keySet())) {
          throw new IllegalStateException("surgery has no rule for variable " + name);
        }
      }
      full.writeAll(copies);
      try (Result products = products(factors)) {
        Map<String, Tensor> kernels = new LinkedHashMap<>();
        for (int k = 0; k < rebuilt.size(); k++) {
          requireSameShape(rebuilt.get(k), products.get(k).shape(), full.shape(rebuilt.get(k)));
          kernels.put(rebuilt.get(k), products.get(k));
        }
        full.writeAll(kernels);
      }
      return new Transfer(step, copies.size(), rebuilt);
    }
  }

  /**
   * Reads the written checkpoint back from disk into {@code back} (the full model's checkpoint
   * graph) and compares it with the relaxed model.
   */
  private static Report verify(
      BertConfig cfg,
      CheckpointGraph relaxed,
      Path relaxedPrefix,
      CheckpointGraph back,
      Path written,
      int copied,
      int rebuiltCount,
      long step) {
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
    double[] diffs = outputDifferences(cfg, relaxed, relaxedPrefix, back, written, rebuilt);
    double denseDiff = diffs[0];
    double ffnDiff = diffs[1];
    if (copiedDiff != 0 || ffnDiff > TOLERANCE || denseDiff > TOLERANCE) {
      throw new IllegalStateException(
          String.format(
              "surgery check failed: copied variables differ by %.3e, rebuilt dense layers by"
                  + " %.3e, FFN outputs by %.3e (tolerance %.0e); nothing kept",
              copiedDiff, denseDiff, ffnDiff, TOLERANCE));
    }
    return new Report(
        written,
        step,
        copied,
        rebuiltCount,
        copiedDiff,
        ffnDiff,
        denseDiff,
        qkNorms(cfg, back),
        List.of());
  }

  /**
   * Per layer, the spectral norm of Wq·Wkᵀ ([H, H] from TF's [in, out] kernels). Softmax
   * attention's logits are x·Wq·Wkᵀ·xᵀ/√d (biases aside), so it bounds how sharp softmax can be
   * after surgery; linear attention hardly depends on it, so phase 1 can let it grow.
   */
  private static List<Double> qkNorms(BertConfig cfg, CheckpointGraph full) {
    int layers = cfg.numHiddenLayers();
    int h = cfg.hiddenSize();
    List<String> names = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      names.add(join(BERT, ENCODER, layer(l), ATTENTION, SELF, QUERY, KERNEL));
      names.add(join(BERT, ENCODER, layer(l), ATTENTION, SELF, KEY, KERNEL));
    }
    List<Double> norms = new ArrayList<>();
    try (Result r = full.read(names)) {
      for (int l = 0; l < layers; l++) {
        float[] q = floats((TFloat32) r.get(2 * l));
        float[] k = floats((TFloat32) r.get(2 * l + 1));
        norms.add(spectralNorm(timesTransposed(q, k, h, h), h, h));
      }
    }
    return norms;
  }

  /** A·Bᵀ for row-major A [n, m] and B [p, m]: [n, p]. */
  static double[] timesTransposed(float[] a, float[] b, int n, int m) {
    int p = b.length / m;
    double[] c = new double[n * p];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < p; j++) {
        double sum = 0;
        for (int t = 0; t < m; t++) {
          sum += (double) a[i * m + t] * b[j * m + t];
        }
        c[i * p + j] = sum;
      }
    }
    return c;
  }

  /** The largest singular value of row-major A [n, m], by 200 power iterations on AᵀA. */
  static double spectralNorm(double[] a, int n, int m) {
    double[] v = new double[m];
    for (int j = 0; j < m; j++) {
      v[j] = 1 + 0.01 * j; // fixed, and not orthogonal to the top singular vector in practice
    }
    double sigma = 0;
    double[] av = new double[n];
    for (int it = 0; it < 200; it++) {
      double norm = Math.sqrt(dot(v, v));
      if (norm == 0) {
        return 0;
      }
      for (int j = 0; j < m; j++) {
        v[j] /= norm;
      }
      for (int i = 0; i < n; i++) {
        double sum = 0;
        for (int j = 0; j < m; j++) {
          sum += a[i * m + j] * v[j];
        }
        av[i] = sum;
      }
      sigma = Math.sqrt(dot(av, av)); // |A v| for unit v
      double[] next = new double[m];
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < m; j++) {
          next[j] += a[i * m + j] * av[i];
        }
      }
      v = next;
    }
    return sigma;
  }

  private static double dot(double[] x, double[] y) {
    double s = 0;
    for (int i = 0; i < x.length; i++) {
      s += x[i] * y[i];
    }
    return s;
  }

  /**
   * How far the converted model's rebuilt layers are from the relaxed ones on fixed random inputs X
   * [64, in]: {max over rebuilt kernels of |X·U·V + b − (X·W + b)|, max over layers of the FFN
   * sublayer's |act(X·U₁·V₁ + b₁)·U₂·V₂ + b₂ − (act(X·W₁ + b₁)·W₂ + b₂)|}. The first covers the
   * factorised attention projections (Q, K, V, O), whose sublayer as a whole changes with the
   * attention kernel. Both sides are built by the model's own code ({@link BertModel#denseLayer},
   * {@link BertModel#feedForward}) with the weights of the two checkpoints.
   */
  private static double[] outputDifferences(
      BertConfig cfg,
      CheckpointGraph relaxed,
      Path relaxedPrefix,
      CheckpointGraph full,
      Path written,
      List<String> rebuilt) {
    return new double[] {
      maxDifference(
          probe(relaxedPrefix, tf -> denseOutputs(tf, cfg, relaxed, full, rebuilt, true)),
          probe(written, tf -> denseOutputs(tf, cfg, relaxed, full, rebuilt, false))),
      maxDifference(
          probe(relaxedPrefix, tf -> ffnOutputs(tf, cfg, Variant.RELAXED)),
          probe(written, tf -> ffnOutputs(tf, cfg, Variant.FULL)))
    };
  }

  /** Each rebuilt kernel's dense layer, as U·V or as W, on its own random input [64, in]. */
  private static List<Operand<TFloat32>> denseOutputs(
      Ops tf,
      BertConfig cfg,
      CheckpointGraph relaxed,
      CheckpointGraph full,
      List<String> rebuilt,
      boolean factorised) {
    List<BertModel.Dense> layers = new ArrayList<>();
    List<Operand<TFloat32>> xs = new ArrayList<>();
    for (String kernel : rebuilt) {
      int in = (int) full.shape(kernel).get(0);
      int rank = factorised ? (int) relaxed.shape(factorU(kernel)).get(1) : 0;
      layers.add(new BertModel.Dense(kernel, in, (int) full.shape(kernel).get(1), rank));
      xs.add(tf.constant(randomInput(in, kernel.hashCode()))); // [64, in]
    }
    return BertModel.denseLayers(tf, cfg, layers, xs); // each [64, out]
  }

  /** Each layer's FFN sublayer on its own random input [64, H]. */
  private static List<Operand<TFloat32>> ffnOutputs(Ops tf, BertConfig cfg, Variant variant) {
    List<Operand<TFloat32>> xs = new ArrayList<>();
    for (int layer = 0; layer < cfg.numHiddenLayers(); layer++) {
      xs.add(tf.constant(randomInput(cfg.hiddenSize(), layer))); // [64, H]
    }
    return BertModel.feedForwards(tf, cfg, variant, xs); // each [64, H]
  }

  /**
   * Builds {@code outputs} in a graph of their own, restores their variables from {@code
   * checkpoint} (only those: a checkpoint holds more) and returns their values.
   */
  private static List<float[]> probe(
      Path checkpoint, Function<Ops, List<Operand<TFloat32>>> outputs) {
    try (Graph g = new Graph()) {
      List<Operand<TFloat32>> ops = outputs.apply(Ops.create(g));
      if (ops.isEmpty()) {
        return List.of();
      }
      try (Session s = new Session(g)) {
        s.restore(checkpoint.toString());
        Session.Runner runner = s.runner();
        ops.forEach(runner::fetch);
        List<float[]> values = new ArrayList<>();
        try (Result r = runner.run()) {
          for (int i = 0; i < ops.size(); i++) {
            values.add(floats((TFloat32) r.get(i)));
          }
        }
        return values;
      }
    }
  }

  /** max |a − b| over pairs of equally long arrays; 0 for none. */
  private static double maxDifference(List<float[]> a, List<float[]> b) {
    double max = 0;
    for (int k = 0; k < a.size(); k++) {
      max = Math.max(max, maxAbsDiff(a.get(k), b.get(k)));
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
                tf.constantOf((TFloat32) factors.get(i)),
                tf.constantOf((TFloat32) factors.get(i + 1))));
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
    return maxAbsDiff(floats(a), floats(b));
  }

  private static double maxAbsDiff(float[] x, float[] y) {
    double max = 0;
    for (int i = 0; i < x.length; i++) {
      max = Math.max(max, Math.abs(x[i] - y[i]));
    }
    return max;
  }

  private static float[] floats(TFloat32 t) {
    float[] v = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(v, false, false));
    return v;
  }

  /**
   * Whether a full-model kernel is factorised in the relaxed checkpoint whose variables are {@code
   * relaxedNames}: it is missing there, and its {@code kernel_u} and {@code kernel_v} are present.
   */
  private static boolean isFactorised(String name, Set<String> relaxedNames) {
    return name.endsWith("/" + KERNEL)
        && !relaxedNames.contains(name)
        && relaxedNames.contains(factorU(name))
        && relaxedNames.contains(factorV(name));
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
          "variable "
              + name
              + " has shape "
              + a
              + " in the relaxed checkpoint but "
              + b
              + " in the full model");
    }
  }

  /**
   * Refuses a relaxed checkpoint whose saved {@code bert_config.json} has other shapes than {@code
   * cfg}, naming the first differing key.
   */
  private static void refuseOtherArchitecture(BertConfig cfg, Path relaxedPrefix) {
    Path saved = relaxedPrefix.resolveSibling(RunDir.BERT_CONFIG);
    if (!Files.exists(saved)) {
      return; // the restore below still fails on any shape mismatch
    }
    Optional<String> mismatch = BertConfig.fromJsonFile(saved).shapeMismatch(cfg);
    if (mismatch.isPresent()) {
      throw new IllegalArgumentException(
          "the relaxed checkpoint "
              + relaxedPrefix
              + " was trained with another config ("
              + mismatch.get()
              + " in "
              + saved
              + " vs the config given); nothing written");
    }
    Optional<BertConfig.Relaxed> savedRelaxed = BertConfig.fromJsonFile(saved).relaxed();
    if (savedRelaxed.isPresent() && !savedRelaxed.equals(cfg.relaxed())) {
      BertConfig.Relaxed was = savedRelaxed.get();
      BertConfig.Relaxed want = cfg.requireRelaxed();
      throw new IllegalArgumentException(
          "the relaxed checkpoint "
              + relaxedPrefix
              + " has ffn_rank "
              + was.ffnRank()
              + " and attention_rank "
              + was.attentionRank()
              + ", the config given has "
              + want.ffnRank()
              + " and "
              + want.attentionRank()
              + "; nothing written");
    }
  }

  private static void removeScratch(Path dir) {
    try {
      Checkpoints.deleteRecursively(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + dir, e);
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
