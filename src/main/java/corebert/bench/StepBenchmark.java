package corebert.bench;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.ModelStats;
import corebert.model.Precision;
import corebert.model.PretrainingHeads;
import corebert.model.VariableStore;
import corebert.train.AdamWeightDecay;
import corebert.train.LrSchedule;
import corebert.train.ModelRestore;
import corebert.train.PretrainingGraph;
import corebert.train.PretrainingModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.logging.Logger;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Cost of one pretraining step (forward, backward, AdamWeightDecay update; dropout on) of the full
 * and the relaxed model, side by side in one process, on a fixed synthetic batch held in the graph
 * so that only the model is timed. Model FLOPs come from {@link ModelStats}; the machine's fp32
 * matmul peak is measured by the same TensorFlow in the same run.
 */
public final class StepBenchmark {
  private static final Logger LOG = Logger.getLogger(StepBenchmark.class.getName());

  /** Square matmuls for the peak: large enough to reach the BLAS plateau on a CPU. */
  private static final int PEAK_N = 1536;

  private StepBenchmark() {}

  /** One measured configuration. */
  public record Row(
      Variant variant,
      boolean fusedQkv,
      int seq,
      int batch,
      double examplesPerSec,
      double trainFlopsPerSec) {
    String label() {
      return variant.name().toLowerCase() + (fusedQkv ? "" : " (unfused QKV)");
    }
  }

  /**
   * Measures the fp32 matmul FLOP/s: the best of several runs of four independent matmuls. The
   * operands are variables, so Grappler cannot fold the products into constants.
   */
  public static double matmulPeak(boolean xla) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Random random = new Random(1);
      List<Operand<TFloat32>> products = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        products.add(
            tf.linalg.matMul(
                tf.identity(tf.variable(randomMatrix(tf, random))),
                tf.identity(tf.variable(randomMatrix(tf, random)))));
      }
      Operand<TFloat32> sum = tf.math.addN(products);
      try (Session s = new Session(g, PretrainingGraph.sessionConfig(xla))) {
        s.initialize();
        double best = Double.MAX_VALUE;
        for (int run = 0; run < 7; run++) {
          long t0 = System.nanoTime();
          s.runner().fetch(sum).run().close();
          double sec = (System.nanoTime() - t0) / 1e9;
          if (run >= 2) {
            best = Math.min(best, sec);
          }
        }
        return 4 * 2.0 * Math.pow(PEAK_N, 3) / best;
      }
    }
  }

  /** Times {@code steps} training steps after {@code warmup} untimed ones. */
  public static Row measure(
      BertConfig cfg,
      Variant variant,
      boolean fusedQkv,
      int seq,
      int batch,
      int predictions,
      int warmup,
      int steps,
      boolean xla,
      Precision precision) {
    try (Graph g = new Graph()) {
      VariableStore store = VariableStore.create(precision, fusedQkv);
      Ops tf = Ops.create(g);
      InputPipeline.Batch constants = randomBatch(tf, cfg.vocabSize(), seq, batch, predictions);
      PretrainingHeads.Losses losses =
          PretrainingModel.build(tf, cfg, variant, constants, 1, store);
      List<Variable<TFloat32>> vars = ModelRestore.variablesSoFar(g);
      Variable<TInt64> step = PretrainingModel.globalStep(tf);
      Op train =
          AdamWeightDecay.build(
                  tf,
                  g,
                  losses.total(),
                  vars,
                  new LrSchedule(1e-4, 0, 10, 1_000_000).build(tf, tf.identity(step)),
                  step,
                  AdamWeightDecay.Settings.bert(AdamWeightDecay.Rule.ADAMW, false))
              .trainOp();
      try (Session s = new Session(g, PretrainingGraph.sessionConfig(xla))) {
        s.initialize();
        for (int i = 0; i < warmup; i++) {
          s.run(train);
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) {
          s.run(train);
        }
        double sec = (System.nanoTime() - t0) / 1e9;
        double examplesPerSec = steps * batch / sec;
        double flopsPerToken =
            ModelStats.of(cfg, variant, seq, predictions / (double) seq).trainFlopsPerToken();
        Row row =
            new Row(
                variant,
                fusedQkv,
                seq,
                batch,
                examplesPerSec,
                examplesPerSec * seq * flopsPerToken);
        LOG.info(
            String.format(
                "%s seq %d batch %d: %.2f ex/s, %.1f GFLOP/s",
                row.label(), seq, batch, examplesPerSec, row.trainFlopsPerSec() / 1e9));
        return row;
      }
    }
  }

  /**
   * One fixed batch of random token ids as graph constants: the step's cost does not depend on the
   * text, and constants keep the input pipeline out of the timing.
   */
  private static InputPipeline.Batch randomBatch(
      Ops tf, int vocabSize, int seq, int batch, int predictions) {
    Random random = new Random(7);
    int[][] ids = new int[batch][seq];
    int[][] mask = new int[batch][seq];
    int[][] segments = new int[batch][seq];
    int[][] positions = new int[batch][predictions];
    int[][] labels = new int[batch][predictions];
    float[][] weights = new float[batch][predictions];
    int[] nsp = new int[batch];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < seq; t++) {
        ids[b][t] = 5 + random.nextInt(vocabSize - 5);
        mask[b][t] = 1;
        segments[b][t] = t < seq / 2 ? 0 : 1;
      }
      for (int p = 0; p < predictions; p++) {
        positions[b][p] = random.nextInt(seq);
        labels[b][p] = ids[b][positions[b][p]];
        weights[b][p] = 1f;
      }
      nsp[b] = random.nextInt(2);
    }
    return new InputPipeline.Batch(
        tf.constant(ids),
        tf.constant(mask),
        tf.constant(segments),
        tf.constant(positions),
        tf.constant(labels),
        tf.constant(weights),
        tf.constant(nsp));
  }

  /**
   * One measured row as {@code PREFIX.json} lists it.
   *
   * @param model full or relaxed
   * @param fusedQkv whether Q, K and V were one matmul (absent in files from before the switch)
   */
  public record ResultRow(
      String model,
      Boolean fusedQkv,
      int seq,
      int batch,
      double examplesPerSec,
      double tokensPerSec,
      double modelGflopsPerSec,
      double fractionOfMatmulPeak) {}

  /**
   * `bench step`'s {@code PREFIX.json}: the rows, and the relaxed/full and fused/unfused ratios of
   * examples/s per sequence length.
   *
   * @param precision the runs' precision (absent in files from before bf16)
   * @param fusedOverUnfusedQkvExamplesPerSec null unless both QKV layouts ran
   */
  public record Report(
      String command,
      String config,
      Machine.Facts machine,
      String precision,
      int warmupSteps,
      int timedSteps,
      double matmulPeakGflops,
      List<ResultRow> results,
      Map<String, Double> relaxedOverFullExamplesPerSec,
      Map<String, Double> fusedOverUnfusedQkvExamplesPerSec) {}

  /** The rows as the report lists them, against the measured peak. */
  static List<ResultRow> resultRows(List<Row> rows, double peak) {
    return rows.stream()
        .map(
            r ->
                new ResultRow(
                    r.variant().name().toLowerCase(),
                    r.fusedQkv(),
                    r.seq(),
                    r.batch(),
                    r.examplesPerSec(),
                    r.examplesPerSec() * r.seq(),
                    r.trainFlopsPerSec() / 1e9,
                    r.trainFlopsPerSec() / peak))
        .toList();
  }

  /** Relaxed over full examples/s, per sequence length (and QKV layout). */
  static Map<String, Double> relaxedOverFull(List<Row> rows) {
    Map<String, Double> ratios = new LinkedHashMap<>();
    for (Row a : rows) {
      for (Row b : rows) {
        if (a.seq() == b.seq()
            && a.variant() == Variant.FULL
            && b.variant() == Variant.RELAXED
            && a.fusedQkv() == b.fusedQkv()) {
          ratios.put(
              "seq_" + a.seq() + (a.fusedQkv() ? "" : "_unfused_qkv"),
              b.examplesPerSec() / a.examplesPerSec());
        }
      }
    }
    return ratios;
  }

  /** Fused over unfused QKV examples/s, per model and sequence length; null if not both ran. */
  static Map<String, Double> fusedOverUnfused(List<Row> rows) {
    Map<String, Double> fusion = new LinkedHashMap<>();
    for (Row a : rows) {
      for (Row b : rows) {
        if (a.seq() == b.seq() && a.variant() == b.variant() && !a.fusedQkv() && b.fusedQkv()) {
          fusion.put(
              a.variant().name().toLowerCase() + "_seq_" + a.seq(),
              b.examplesPerSec() / a.examplesPerSec());
        }
      }
    }
    return fusion.isEmpty() ? null : fusion;
  }

  private static Operand<TFloat32> randomMatrix(Ops tf, Random random) {
    float[][] m = new float[PEAK_N][PEAK_N];
    for (float[] row : m) {
      for (int j = 0; j < PEAK_N; j++) {
        row[j] = (float) random.nextGaussian();
      }
    }
    return tf.constant(m);
  }
}
