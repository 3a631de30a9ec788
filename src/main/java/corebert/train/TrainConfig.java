package corebert.train;

import com.fasterxml.jackson.annotation.JsonInclude;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.util.Jackson;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Everything a pretraining run needs besides the architecture, validated once. The CLI builds it;
 * nothing past the CLI sees a command line.
 *
 * @param variant FULL or RELAXED model
 * @param inputs TFRecord shards
 * @param outputDir checkpoints and configs; a run resumes from it
 * @param metricsDir where metrics.jsonl and TensorBoard events go (CoRe's phases share one)
 * @param steps global step to stop at (used when {@code timeBudgetSec} is 0)
 * @param timeBudgetSec wall-clock budget in seconds, or 0 to run {@code steps}
 * @param batchSize sequences per step
 * @param learningRate peak learning rate
 * @param warmupSteps linear warm-up length
 * @param initCheckpoint weights to start from when the output directory has no checkpoint
 * @param saveEvery checkpoint interval in steps (a checkpoint is also written at the end)
 * @param saveEverySec also checkpoint after this many seconds of training since the last one (0:
 *     off); benchmarks keep these to draw held-out loss against wall-clock time
 * @param logEvery log interval in steps
 * @param keepCheckpoints newest checkpoints kept
 * @param maxBadSteps consecutive non-finite steps tolerated before training stops
 * @param xla compile clusters with XLA (global JIT)
 * @param seed seeds initialisers, dropout and input shuffling
 * @param optimizer AdamWeightDecay or LAMB
 * @param dynamicLossScale scale the loss dynamically (for fp16; see {@link AdamWeightDecay})
 * @param precision the type the model's matmuls compute in (variables stay float32)
 * @param shuffleBuffer records held by the input shuffle
 * @param phase label written to metrics.jsonl ("full" or "relaxed")
 * @param scheduleStart global step where this run's learning-rate schedule starts (CoRe phase 2)
 * @param decaySpan the learning rate decays linearly to 0 at this multiple of the run's length (1:
 *     at its end; CoRe's joint schedule lets phase 1 decay over the whole CoRe run)
 * @param blendSteps a full model's attention is (1 − m)·linear + m·softmax with m rising linearly
 *     from 0 at {@code scheduleStart} to 1 this many steps later (CoRe's blended start of phase 2);
 *     0: softmax only
 * @param parallel towers, gradient accumulation and cluster of this run
 */
public record TrainConfig(
    Variant variant,
    List<Path> inputs,
    Path outputDir,
    Path metricsDir,
    long steps,
    double timeBudgetSec,
    int batchSize,
    double learningRate,
    long warmupSteps,
    Optional<Path> initCheckpoint,
    int saveEvery,
    double saveEverySec,
    int logEvery,
    int keepCheckpoints,
    int maxBadSteps,
    boolean xla,
    long seed,
    AdamWeightDecay.Rule optimizer,
    boolean dynamicLossScale,
    Precision precision,
    int shuffleBuffer,
    String phase,
    long scheduleStart,
    double decaySpan,
    long blendSteps,
    Parallelism parallel) {

  public TrainConfig {
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("no input files");
    }
    if (steps < 1 && !(timeBudgetSec > 0)) {
      throw new IllegalArgumentException("steps must be >= 1 when there is no time budget");
    }
    require(batchSize >= 1, "batch size must be >= 1, got " + batchSize);
    require(
        learningRate > 0 && learningRate < 1,
        "learning rate must be in (0, 1), got " + learningRate);
    require(warmupSteps >= 0, "warm-up steps must be >= 0, got " + warmupSteps);
    require(saveEvery >= 1, "save interval must be >= 1, got " + saveEvery);
    require(saveEverySec >= 0, "save interval in seconds must be >= 0, got " + saveEverySec);
    require(logEvery >= 1, "log interval must be >= 1, got " + logEvery);
    require(keepCheckpoints >= 1, "keep-checkpoints must be >= 1, got " + keepCheckpoints);
    require(maxBadSteps >= 1, "max bad steps must be >= 1, got " + maxBadSteps);
    require(shuffleBuffer >= 1, "shuffle buffer must be >= 1, got " + shuffleBuffer);
    require(decaySpan >= 1, "decay span must be >= 1, got " + decaySpan);
    require(blendSteps >= 0, "blend steps must be >= 0, got " + blendSteps);
    require(
        blendSteps == 0 || variant == Variant.FULL,
        "only the full model blends linear attention into softmax");
    parallel.replicaBatch(batchSize); // the global batch must split evenly
    inputs = List.copyOf(inputs);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** The learning-rate schedule of this run. */
  public LrSchedule schedule() {
    long total =
        steps > 0 ? Math.round((steps - scheduleStart) * decaySpan) : Math.max(1, warmupSteps * 10);
    return new LrSchedule(learningRate, scheduleStart, warmupSteps, Math.max(total, 1));
  }

  public static final int DEFAULT_BATCH = 32;
  public static final double DEFAULT_LR = 1e-4;
  public static final int DEFAULT_SAVE_EVERY = 1000;
  public static final int DEFAULT_LOG_EVERY = 10;
  public static final int DEFAULT_KEEP = 3;
  public static final int DEFAULT_MAX_BAD_STEPS = 5;
  public static final long DEFAULT_SEED = 12345;
  public static final int DEFAULT_SHUFFLE_BUFFER = 10_000;

  /**
   * A builder holding the CLI's defaults, for a run of {@code variant} on {@code inputs} that
   * writes to {@code outputDir} (also its metrics directory, and its phase label is the variant's
   * name). Call sites name what they change.
   */
  public static Builder builder(Variant variant, List<Path> inputs, Path outputDir) {
    return new Builder(variant, inputs, outputDir);
  }

  /** A builder holding this config: derived runs (CoRe's phases) name only what differs. */
  public Builder toBuilder() {
    Builder b = new Builder(variant, inputs, outputDir);
    b.metricsDir = metricsDir;
    b.steps = steps;
    b.timeBudgetSec = timeBudgetSec;
    b.batchSize = batchSize;
    b.learningRate = learningRate;
    b.warmupSteps = warmupSteps;
    b.initCheckpoint = initCheckpoint;
    b.saveEvery = saveEvery;
    b.saveEverySec = saveEverySec;
    b.logEvery = logEvery;
    b.keepCheckpoints = keepCheckpoints;
    b.maxBadSteps = maxBadSteps;
    b.xla = xla;
    b.seed = seed;
    b.optimizer = optimizer;
    b.dynamicLossScale = dynamicLossScale;
    b.precision = precision;
    b.shuffleBuffer = shuffleBuffer;
    b.phase = phase;
    b.scheduleStart = scheduleStart;
    b.decaySpan = decaySpan;
    b.blendSteps = blendSteps;
    b.parallel = parallel;
    return b;
  }

  /** Named setters over the record's components; {@link #build()} validates. */
  public static final class Builder {
    private Variant variant;
    private final List<Path> inputs;
    private Path outputDir;
    private Path metricsDir;
    private long steps;
    private double timeBudgetSec;
    private int batchSize = DEFAULT_BATCH;
    private double learningRate = DEFAULT_LR;
    private long warmupSteps;
    private Optional<Path> initCheckpoint = Optional.empty();
    private int saveEvery = DEFAULT_SAVE_EVERY;
    private double saveEverySec;
    private int logEvery = DEFAULT_LOG_EVERY;
    private int keepCheckpoints = DEFAULT_KEEP;
    private int maxBadSteps = DEFAULT_MAX_BAD_STEPS;
    private boolean xla;
    private long seed = DEFAULT_SEED;
    private AdamWeightDecay.Rule optimizer = AdamWeightDecay.Rule.ADAMW;
    private boolean dynamicLossScale;
    private Precision precision = Precision.FP32;
    private int shuffleBuffer = DEFAULT_SHUFFLE_BUFFER;
    private String phase;
    private long scheduleStart;
    private double decaySpan = 1;
    private long blendSteps;
    private Parallelism parallel = Parallelism.SINGLE;

    private Builder(Variant variant, List<Path> inputs, Path outputDir) {
      this.variant = variant;
      this.inputs = inputs;
      this.outputDir = outputDir;
      this.metricsDir = outputDir;
      this.phase = variant.name().toLowerCase(Locale.ROOT);
    }

    /** The model trained, and the phase label that goes with it. */
    public Builder variant(Variant v) {
      variant = v;
      phase = v.name().toLowerCase(Locale.ROOT);
      return this;
    }

    public Builder outputDir(Path dir) {
      outputDir = dir;
      return this;
    }

    public Builder metricsDir(Path dir) {
      metricsDir = dir;
      return this;
    }

    public Builder steps(long n) {
      steps = n;
      return this;
    }

    public Builder timeBudgetSec(double sec) {
      timeBudgetSec = sec;
      return this;
    }

    public Builder batchSize(int n) {
      batchSize = n;
      return this;
    }

    public Builder learningRate(double lr) {
      learningRate = lr;
      return this;
    }

    public Builder warmupSteps(long n) {
      warmupSteps = n;
      return this;
    }

    public Builder initCheckpoint(Optional<Path> prefix) {
      initCheckpoint = prefix;
      return this;
    }

    public Builder saveEvery(int n) {
      saveEvery = n;
      return this;
    }

    public Builder saveEverySec(double sec) {
      saveEverySec = sec;
      return this;
    }

    public Builder logEvery(int n) {
      logEvery = n;
      return this;
    }

    public Builder keepCheckpoints(int n) {
      keepCheckpoints = n;
      return this;
    }

    public Builder maxBadSteps(int n) {
      maxBadSteps = n;
      return this;
    }

    public Builder xla(boolean on) {
      xla = on;
      return this;
    }

    public Builder seed(long s) {
      seed = s;
      return this;
    }

    public Builder optimizer(AdamWeightDecay.Rule rule) {
      optimizer = rule;
      return this;
    }

    public Builder dynamicLossScale(boolean on) {
      dynamicLossScale = on;
      return this;
    }

    public Builder precision(Precision p) {
      precision = p;
      return this;
    }

    public Builder shuffleBuffer(int n) {
      shuffleBuffer = n;
      return this;
    }

    public Builder scheduleStart(long step) {
      scheduleStart = step;
      return this;
    }

    public Builder decaySpan(double span) {
      decaySpan = span;
      return this;
    }

    public Builder blendSteps(long n) {
      blendSteps = n;
      return this;
    }

    public Builder parallel(Parallelism p) {
      parallel = p;
      return this;
    }

    public TrainConfig build() {
      return new TrainConfig(
          variant,
          inputs,
          outputDir,
          metricsDir,
          steps,
          timeBudgetSec,
          batchSize,
          learningRate,
          warmupSteps,
          initCheckpoint,
          saveEvery,
          saveEverySec,
          logEvery,
          keepCheckpoints,
          maxBadSteps,
          xla,
          seed,
          optimizer,
          dynamicLossScale,
          precision,
          shuffleBuffer,
          phase,
          scheduleStart,
          decaySpan,
          blendSteps,
          parallel);
    }
  }

  /**
   * {@code train_config.json}, written next to checkpoints: the settings a reader needs to know
   * what was trained and how (the cluster as its workers and this task's index).
   */
  public record Written(
      String model,
      String phase,
      List<String> inputs,
      long steps,
      double timeBudgetSec,
      int batchSize,
      double learningRate,
      long warmupSteps,
      long scheduleStart,
      double decaySpan,
      Long blendSteps,
      @JsonInclude(JsonInclude.Include.ALWAYS) String initCheckpoint,
      int saveEvery,
      double saveEverySec,
      int keepCheckpoints,
      boolean xla,
      long seed,
      String optimizer,
      String lossScale,
      String precision,
      int shuffleBuffer,
      int vocabSize,
      int numGpus,
      int accumulateSteps,
      @JsonInclude(JsonInclude.Include.ALWAYS) Cluster.Written cluster,
      int inputShards) {}

  /** The config as {@code train_config.json} holds it, for a model of {@code bert}'s vocab. */
  public String toJson(BertConfig bert) {
    return Jackson.writePretty(
        new Written(
            variant.name().toLowerCase(),
            phase,
            inputs.stream().map(Path::toString).toList(),
            steps,
            timeBudgetSec,
            batchSize,
            learningRate,
            warmupSteps,
            scheduleStart,
            decaySpan,
            blendSteps > 0 ? blendSteps : null,
            initCheckpoint.map(Path::toString).orElse(null),
            saveEvery,
            saveEverySec,
            keepCheckpoints,
            xla,
            seed,
            optimizer.name().toLowerCase(),
            dynamicLossScale ? "dynamic" : "none",
            precision.name().toLowerCase(),
            shuffleBuffer,
            bert.vocabSize(),
            parallel.numGpus(),
            parallel.accumulateSteps(),
            parallel.cluster().map(Cluster::written).orElse(null),
            parallel.inputShards()));
  }
}
