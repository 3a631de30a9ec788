package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.data.InputPipeline;
import corebert.export.HuggingFaceImport;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.train.AdamWeightDecay;
import corebert.train.Cluster;
import corebert.train.Parallelism;
import corebert.train.TrainConfig;
import corebert.util.Jackson;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * The training options `pretrain` and `core` share: their definitions, their reading into a {@link
 * TrainConfig}, and running the training as a cluster's chief.
 */
final class TrainingOptions {
  private static final Logger LOG = Logger.getLogger(TrainingOptions.class.getName());

  private TrainingOptions() {}

  /** Adds the options; `core` replaces --steps by its phase lengths. */
  static void add(Options o, boolean withSteps) {
    addRun(o, withSteps);
    addCheckpointsAndLogs(o);
    addNumerics(o);
    addParallelism(o);
  }

  /** What to train on, for how long, and where from. */
  private static void addRun(Options o, boolean withSteps) {
    o.addOption(requiredList("input", "GLOB", "pretraining TFRecords (repeatable; globs)"));
    o.addOption(required("output-dir", "DIR", "checkpoints, metrics.jsonl, TensorBoard events"));
    if (withSteps) {
      o.addOption(valued("steps", "N", "stop at this global step"));
    }
    o.addOption(valued("time-budget", "SEC", "stop after this many seconds instead of --steps"));
    o.addOption(
        valued(
            "batch-size", "N", "sequences per step (default " + TrainConfig.DEFAULT_BATCH + ")"));
    o.addOption(
        valued("lr", "RATE", "peak learning rate (default " + TrainConfig.DEFAULT_LR + ")"));
    o.addOption(
        valued(
            "warmup-steps", "N", "linear warm-up steps (default: 10% of --steps, at most 10000)"));
    o.addOption(
        valued(
            "init-checkpoint",
            "CKPT",
            "start from these weights: a checkpoint (dir or prefix, ours or"
                + " google-research/bert's) or a Hugging Face BERT folder, imported once into"
                + " OUTPUT-DIR/hf-init"));
    o.addOption(
        valued(
            "max-seq-length", "N", "require the data to have this sequence length (default: any)"));
    o.addOption(
        valued(
            "shuffle-buffer",
            "N",
            "records held by the input shuffle (default "
                + TrainConfig.DEFAULT_SHUFFLE_BUFFER
                + ")"));
    o.addOption(
        valued(
            "seed",
            "S",
            "seed for weights, dropout and shuffling (default " + TrainConfig.DEFAULT_SEED + ")"));
  }

  /** When to checkpoint and log, and when to give up. */
  private static void addCheckpointsAndLogs(Options o) {
    o.addOption(
        valued(
            "save-every",
            "N",
            "checkpoint interval in steps (default " + TrainConfig.DEFAULT_SAVE_EVERY + ")"));
    o.addOption(
        valued(
            "save-every-secs",
            "SEC",
            "also checkpoint every SEC seconds of training (default: off)"));
    o.addOption(
        valued(
            "log-every",
            "N",
            "log interval in steps (default " + TrainConfig.DEFAULT_LOG_EVERY + ")"));
    o.addOption(
        valued(
            "keep-checkpoints",
            "K",
            "newest checkpoints to keep (default " + TrainConfig.DEFAULT_KEEP + ")"));
    o.addOption(
        valued(
            "max-bad-steps",
            "M",
            "stop after M non-finite steps in a row (default "
                + TrainConfig.DEFAULT_MAX_BAD_STEPS
                + ")"));
  }

  /** Update rule and number formats. */
  private static void addNumerics(Options o) {
    o.addOption(valued("optimizer", "adamw|lamb", "update rule (default adamw, as BERT)"));
    o.addOption(
        valued(
            "loss-scale",
            "none|dynamic",
            "dynamic loss scaling for fp16: halve on overflow, double after 2000 good steps"
                + " (default none)"));
    o.addOption(
        precisionOption(
            "type of the model's matmuls; variables, LayerNorm, softmax and the optimizer stay"
                + " fp32"));
    o.addOption(flag("xla", "compile with XLA (global JIT; bin/corebert sets TF_XLA_FLAGS)"));
  }

  /** Towers, micro-batches and a cluster of machines. */
  private static void addParallelism(Options o) {
    o.addOption(
        valued(
            "num-gpus",
            "N",
            "data-parallel towers on /device:GPU:0..N-1 sharing the --batch-size (default 1;"
                + " on a machine without GPUs they run on the CPU)"));
    o.addOption(
        valued(
            "accumulate-steps",
            "K",
            "split each step's --batch-size into K micro-batches run one after the other and"
                + " summed into one update: the same step in less memory (default 1)"));
    o.addOption(
        valued(
            "cluster",
            "SPEC",
            "train on several machines over TensorFlow's gRPC runtime: host:port,host:port,..."
                + " or {\"worker\": [...]}; run the same command on each with its --task; task 0"
                + " is the chief and writes the checkpoints (default: TF_CONFIG if set, else one"
                + " process)"));
    o.addOption(
        valued(
            "all-reduce",
            "chief|collective",
            "on --cluster, how the workers' gradients meet: chief (task 0 holds every variable"
                + " and trains, the others serve: 8 bytes per parameter per worker through task"
                + " 0's link) or collective (every task holds the variables and trains on its"
                + " own shard, and gradients are summed by ring all-reduce; default chief)"));
    o.addOption(
        valued(
            "gradient-precision",
            "fp32|bf16",
            "with --all-reduce collective, the type gradients travel in between the workers:"
                + " bf16 halves the bytes (2 per parameter per worker instead of 4 on two"
                + " workers) and the ring sums them in bf16; the update stays fp32 (default fp32)"));
    o.addOption(valued("job", "NAME", "this task's job in --cluster (only 'worker')"));
    o.addOption(
        valued(
            "input-shards",
            "N",
            "input pipelines, each reading its own share of the files (by record when there are"
                + " fewer files) and feeding its share of every batch: one per task on --cluster,"
                + " placed on that task; on one machine N reproduces an N-task cluster's data order"
                + " (default: one per task)"));
    o.addOption(
        flag(
            "allow-public-cluster",
            "let --cluster name workers outside loopback and private networks (TensorFlow's gRPC"
                + " runtime has no authentication: keep clusters on a trusted network)"));
    o.addOption(valued("task", "I", "this task's index in --cluster (default 0, the chief)"));
    o.addOption(
        valued(
            "worker-timeout",
            "SEC",
            "on a cluster, fail a step that waits longer than this on the workers (default "
                + (int) Cluster.DEFAULT_TIMEOUT_SEC
                + ")"));
  }

  /**
   * Builds the validated training settings from a parsed line; the run's length is {@code
   * stepsFlag} ({@code steps}, or core's {@code relaxed-steps}) or {@code --time-budget}.
   */
  static TrainConfig trainConfig(CommandLine line, Variant variant, String stepsFlag) {
    long steps = longValue(line, stepsFlag, 0, 1);
    double budget = doubleValue(line, "time-budget", 0, 1, 1e9);
    if ((steps > 0) == (budget > 0)) {
      throw new UsageException("give exactly one of --" + stepsFlag + " and --time-budget");
    }
    long defaultWarmup = steps > 0 ? Math.min(10_000, steps / 10) : 100;
    String optimizer = line.getOptionValue("optimizer", "adamw").toUpperCase(Locale.ROOT);
    AdamWeightDecay.Rule rule;
    try {
      rule = AdamWeightDecay.Rule.valueOf(optimizer);
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          "--optimizer must be adamw or lamb, got '" + line.getOptionValue("optimizer") + "'");
    }
    String lossScale = line.getOptionValue("loss-scale", "none");
    if (!lossScale.equals("none") && !lossScale.equals("dynamic")) {
      throw new UsageException("--loss-scale must be none or dynamic, got '" + lossScale + "'");
    }
    Precision precision = precision(line);
    if (precision == Precision.FP16 && lossScale.equals("none")) {
      LOG.warning("--precision fp16 without --loss-scale dynamic: small gradients may underflow");
    }
    Path outputDir = Path.of(line.getOptionValue("output-dir"));
    Optional<Path> init =
        Optional.ofNullable(line.getOptionValue("init-checkpoint"))
            .map(
                given ->
                    HuggingFaceImport.checkpointOf(
                        Path.of(given), outputDir.resolve(HuggingFaceImport.IMPORT_DIR)));
    try {
      return TrainConfig.builder(variant, globs(line, "input"), outputDir)
          .steps(steps)
          .timeBudgetSec(budget)
          .batchSize(intValue(line, "batch-size", TrainConfig.DEFAULT_BATCH, 1))
          .learningRate(doubleValue(line, "lr", TrainConfig.DEFAULT_LR, 1e-9, 0.999))
          .warmupSteps(longValue(line, "warmup-steps", defaultWarmup, 0))
          .initCheckpoint(init)
          .saveEvery(intValue(line, "save-every", TrainConfig.DEFAULT_SAVE_EVERY, 1))
          .saveEverySec(doubleValue(line, "save-every-secs", 0, 0, 1e9))
          .logEvery(intValue(line, "log-every", TrainConfig.DEFAULT_LOG_EVERY, 1))
          .keepCheckpoints(intValue(line, "keep-checkpoints", TrainConfig.DEFAULT_KEEP, 1))
          .maxBadSteps(intValue(line, "max-bad-steps", TrainConfig.DEFAULT_MAX_BAD_STEPS, 1))
          .xla(line.hasOption("xla"))
          .seed(longValue(line, "seed", TrainConfig.DEFAULT_SEED, 0))
          .optimizer(rule)
          .dynamicLossScale(lossScale.equals("dynamic"))
          .precision(precision)
          .shuffleBuffer(intValue(line, "shuffle-buffer", TrainConfig.DEFAULT_SHUFFLE_BUFFER, 1))
          .parallel(
              new Parallelism(
                  intValue(line, "num-gpus", 1, 1),
                  intValue(line, "accumulate-steps", 1, 1),
                  cluster(line),
                  intValue(line, "input-shards", 0, 1)))
          .build();
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /** {@code --cluster/--job/--task}, else the {@code TF_CONFIG} environment variable, else none. */
  private static Optional<Cluster> cluster(CommandLine line) {
    double timeout = doubleValue(line, "worker-timeout", Cluster.DEFAULT_TIMEOUT_SEC, 1, 1e6);
    try {
      Optional<Cluster> cluster;
      if (line.hasOption("cluster")) {
        cluster =
            Optional.of(
                Cluster.parse(
                    line.getOptionValue("cluster"),
                    line.getOptionValue("job", Cluster.JOB),
                    intValue(line, "task", 0, 0),
                    timeout));
      } else if (line.hasOption("task") || line.hasOption("job")) {
        throw new UsageException("--task and --job need --cluster");
      } else {
        cluster = Cluster.fromTfConfig(System.getenv("TF_CONFIG"), timeout);
      }
      if (line.hasOption("all-reduce")) {
        if (cluster.isEmpty()) {
          throw new UsageException("--all-reduce needs --cluster (or TF_CONFIG)");
        }
        Cluster.AllReduce mode;
        try {
          mode = Cluster.AllReduce.parse(line.getOptionValue("all-reduce"));
        } catch (IllegalArgumentException e) {
          throw new UsageException("--all-reduce: " + e.getMessage());
        }
        cluster = cluster.map(c -> c.withAllReduce(mode));
      }
      if (line.hasOption("gradient-precision")) {
        Precision gradients = gradientPrecision(line.getOptionValue("gradient-precision"));
        if (cluster.map(c -> !c.collective()).orElse(true)) {
          throw new UsageException("--gradient-precision needs --all-reduce collective");
        }
        cluster = cluster.map(c -> c.withGradients(gradients));
      }
      if (line.hasOption("allow-public-cluster")) {
        cluster.ifPresent(
            c -> LOG.warning("--allow-public-cluster: the workers' addresses are not checked"));
      } else {
        try {
          cluster.ifPresent(Cluster::requireTrustedNetwork);
        } catch (IllegalArgumentException e) {
          throw new UsageException(e.getMessage() + " (--allow-public-cluster)");
        }
      }
      return cluster;
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * Runs {@code train} here, or on a cluster as its chief; any other task serves the chief until it
   * is gone, prints that it served, and returns empty.
   */
  static <R> Optional<R> asChief(TrainConfig tc, Supplier<R> train) throws InterruptedException {
    Optional<R> result = Cluster.asChief(tc.parallel().cluster(), train);
    if (result.isEmpty()) {
      System.out.println(
          Jackson.write(Map.of("task", tc.parallel().cluster().get().task(), "served", true)));
    }
    return result;
  }

  /** Checks {@code --max-seq-length}, when given, against every input file. */
  static void requireSeqLength(CommandLine line, TrainConfig tc) {
    if (!line.hasOption("max-seq-length")) {
      return;
    }
    int wanted = intValue(line, "max-seq-length", 0, 1);
    for (Path file : tc.inputs()) {
      int actual = InputPipeline.inspect(List.of(file)).maxSeqLength();
      if (actual != wanted) {
        throw new IllegalArgumentException(
            file
                + ": records have max_seq_length "
                + actual
                + ", but --max-seq-length is "
                + wanted);
      }
    }
  }
}
