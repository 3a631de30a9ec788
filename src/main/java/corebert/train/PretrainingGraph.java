package corebert.train;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Endpoints;
import corebert.model.Precision;
import corebert.model.PretrainingHeads;
import corebert.model.VariableStore;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.logging.Logger;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.OptimizerOptions;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Owns the Graph and Session of one pretraining or evaluation model, as VGGModel owns its pair:
 * input pipeline → encoder → heads, plus (for training) the learning rate, the optimizer and the
 * global step. Every op exists before the Session opens; callers only feed and fetch.
 */
public final class PretrainingGraph implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PretrainingGraph.class.getName());

  /**
   * What only a training graph has: the optimizer, its learning rate, the step and the input
   * position. {@code setStep} assigns {@code stepFeed} to the step, for a run that starts from
   * another run's weights. With collective all-reduce, {@code syncFromChief} makes every variable
   * equal the chief's, and {@code stopAgreed} (fetched with each step) is the chief's {@link
   * #STOP_FEED}: 1 when that step is the last.
   */
  record Training(
      AdamWeightDecay.Update update,
      Operand<TFloat32> learningRate,
      Variable<TInt64> globalStep,
      InputPosition position,
      Op setStep,
      Placeholder<TInt64> stepFeed,
      Optional<Op> syncFromChief,
      Optional<Operand<TFloat32>> stopAgreed) {}

  /** Fed on the chief of a collective run: 1 makes this step every task's last. */
  static final String STOP_FEED = "stop_after_step";

  /**
   * The model over the batch: its losses, its variables, (replicated) its summed gradients, and
   * (for evaluation) its losses with every scored position shown as [MASK].
   */
  private record Model(
      PretrainingHeads.Losses losses,
      List<Variable<TFloat32>> vars,
      Optional<DataParallel.Replicated> replicated,
      Optional<PretrainingHeads.Losses> masked) {}

  final Graph graph;
  final Session session;

  /** One input pipeline, or one per input shard ({@link Parallelism#inputShards()}). */
  final List<InputPipeline.Pipeline> inputs;

  /** The input shards of every task together: a step's records are split among them. */
  private final int shardsInRun;

  final PretrainingHeads.Losses losses;

  /** In an evaluation graph given [MASK]'s id: the losses with every scored position masked. */
  final Optional<PretrainingHeads.Losses> maskedLosses;

  /** Model variables (no optimizer slots, no step), in creation order. */
  final List<Variable<TFloat32>> modelVariables;

  /** Present in a training graph, empty in an evaluation graph. */
  final Optional<Training> training;

  private final ModelRestore initFromCheckpoint;
  private boolean abandoned;

  private PretrainingGraph(
      Graph graph,
      Session session,
      List<InputPipeline.Pipeline> inputs,
      Model model,
      Optional<Training> training,
      ModelRestore initFromCheckpoint,
      int shardsInRun) {
    this.graph = graph;
    this.session = session;
    this.inputs = inputs;
    this.shardsInRun = shardsInRun;
    this.losses = model.losses();
    this.maskedLosses = model.masked();
    this.modelVariables = model.vars();
    this.training = training;
    this.initFromCheckpoint = initFromCheckpoint;
  }

  /** The training graph: shuffled, repeating input, dropout on, optimizer and step. */
  public static PretrainingGraph forTraining(
      BertConfig cfg, TrainConfig tc, InputPipeline.DataShape shape) {
    return build(
        cfg,
        tc.variant(),
        tc.inputs(),
        tc.batchSize(),
        shape,
        Optional.of(tc),
        OptionalInt.empty(),
        OptionalDouble.empty(),
        tc.xla());
  }

  /**
   * The evaluation graph: one ordered pass over the input, dropout off, no optimizer; given {@code
   * maskId}, also the losses with every scored position showing it ({@link #maskedLosses}); given
   * {@code softmaxShare}, a full model's attention blends linear attention into softmax with that
   * share ({@link VariableStore#withSoftmaxShare}).
   */
  public static PretrainingGraph forEval(
      BertConfig cfg,
      Variant variant,
      List<Path> inputs,
      int batchSize,
      InputPipeline.DataShape shape,
      OptionalInt maskId,
      OptionalDouble softmaxShare) {
    return build(
        cfg.withoutDropout(),
        variant,
        inputs,
        batchSize,
        shape,
        Optional.empty(),
        maskId,
        softmaxShare,
        false);
  }

  private static PretrainingGraph build(
      BertConfig cfg,
      Variant variant,
      List<Path> inputs,
      int batchSize,
      InputPipeline.DataShape shape,
      Optional<TrainConfig> training,
      OptionalInt maskId,
      OptionalDouble softmaxShare,
      boolean xla) {
    requireFits(cfg, shape);
    training.ifPresent(tc -> NativeSessions.requireKernels(tc.precision()));
    Graph graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      List<InputPipeline.Pipeline> pipelines =
          inputPipelines(tf, inputs, batchSize, shape, training);
      List<InputPipeline.Batch> batches =
          pipelines.stream().map(InputPipeline.Pipeline::batch).toList();
      // The step exists before the model, whose blended attention may read it.
      Optional<Variable<TInt64>> globalStep = training.map(tc -> PretrainingModel.globalStep(tf));
      VariableStore store = store(tf, training, globalStep, softmaxShare);
      Optional<Collective> collective = training.flatMap(tc -> collective(tf, tc.parallel()));
      Model model =
          model(tf, graph, cfg, variant, batches, batchSize, training, maskId, store, collective);
      ModelRestore initFromCheckpoint = ModelRestore.build(tf, model.vars());
      Optional<Training> train =
          training.map(
              tc -> training(tf, graph, cfg, tc, model, globalStep.orElseThrow(), collective));
      Session session = openSession(graph, training.map(TrainConfig::parallel), xla);
      int shards = training.map(tc -> tc.parallel().shardsInRun()).orElse(pipelines.size());
      return new PretrainingGraph(
          graph, session, pipelines, model, train, initFromCheckpoint, shards);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** On a collective cluster, this task's member of the group of all tasks. */
  private static Optional<Collective> collective(Ops tf, Parallelism p) {
    return p.cluster()
        .filter(Cluster::collective)
        .map(
            c ->
                new Collective(tf, c.workers().size(), c.timeoutSec(), c.isChief(), c.gradients()));
  }

  /**
   * One input pipeline, or one per input shard, each with its share of the batch (on a cluster on
   * its own task, so that every worker reads its own files). With collective all-reduce every
   * task's epoch holds as many records as the smallest shard's, so that all end it at one step.
   */
  private static List<InputPipeline.Pipeline> inputPipelines(
      Ops tf,
      List<Path> files,
      int batchSize,
      InputPipeline.DataShape shape,
      Optional<TrainConfig> training) {
    Parallelism p = training.map(TrainConfig::parallel).orElse(Parallelism.SINGLE);
    List<InputPipeline.Pipeline> pipelines = new ArrayList<>();
    for (int s = 0; s < p.inputShards(); s++) {
      InputPipeline.Shard shard = p.inputShard(s);
      if (p.collective()) {
        shard = shard.withLimit(InputPipeline.Shard.smallest(files, shard.count()));
        LOG.info(
            "input shard "
                + shard.index()
                + " of "
                + shard.count()
                + ": "
                + shard.limit()
                + " records an epoch (the smallest shard's)");
      }
      pipelines.add(
          InputPipeline.build(
              p.inputDevice(s).map(tf::withDevice).orElse(tf),
              files,
              p.taskBatch(batchSize) / p.inputShards(),
              shape.maxSeqLength(),
              shape.maxPredictions(),
              training.isPresent(),
              training.map(TrainConfig::shuffleBuffer).orElse(1),
              shard));
    }
    return pipelines;
  }

  /** The data must fit the config: its sequence length and its token ids. */
  private static void requireFits(BertConfig cfg, InputPipeline.DataShape shape) {
    if (shape.maxSeqLength() > cfg.maxPositionEmbeddings()) {
      throw new IllegalArgumentException(
          "the data's max_seq_length "
              + shape.maxSeqLength()
              + " exceeds the config's max_position_embeddings "
              + cfg.maxPositionEmbeddings());
    }
    if (shape.maxTokenId() >= cfg.vocabSize()) {
      throw new IllegalArgumentException(
          "the data holds token id "
              + shape.maxTokenId()
              + " but the config's vocab_size is "
              + cfg.vocabSize()
              + ": the TFRecords were made with another vocab.txt");
    }
  }

  /**
   * Where the model's variables come from, in the run's precision; with blend steps, whose full
   * model's softmax share m = clip((step − schedule start) / blend steps, 0, 1); in an evaluation
   * graph, with the given share.
   */
  private static VariableStore store(
      Ops tf,
      Optional<TrainConfig> training,
      Optional<Variable<TInt64>> globalStep,
      OptionalDouble softmaxShare) {
    VariableStore store =
        VariableStore.create(training.map(TrainConfig::precision).orElse(Precision.FP32));
    if (softmaxShare.isPresent()) {
      return store.withSoftmaxShare(tf.constant((float) softmaxShare.getAsDouble()));
    }
    if (training.isEmpty() || training.get().blendSteps() == 0) {
      return store;
    }
    TrainConfig tc = training.get();
    Ops b = tf.withSubScope("softmax_share");
    Operand<TFloat32> sinceSwitch =
        b.dtypes.cast(
            b.math.sub(b.identity(globalStep.orElseThrow()), b.constant(tc.scheduleStart())),
            TFloat32.class);
    Operand<TFloat32> m =
        b.clipByValue(
            b.math.div(sinceSwitch, b.constant((float) tc.blendSteps())),
            b.constant(0f),
            b.constant(1f));
    LOG.info(
        "blended start: attention is (1 - m)·linear + m·softmax, m rising from 0 at step "
            + tc.scheduleStart()
            + " to 1 at step "
            + (tc.scheduleStart() + tc.blendSteps()));
    return store.withSoftmaxShare(b.withName("m").identity(m));
  }

  /**
   * One model over the whole batch, or data-parallel replicas sharing its variables; given {@code
   * maskId}, a second copy of the one model over the batch with its scored positions masked.
   */
  private static Model model(
      Ops tf,
      Graph graph,
      BertConfig cfg,
      Variant variant,
      List<InputPipeline.Batch> batches,
      int batchSize,
      Optional<TrainConfig> training,
      OptionalInt maskId,
      VariableStore store,
      Optional<Collective> collective) {
    long seed = training.map(TrainConfig::seed).orElse(0L);
    Parallelism parallel = training.map(TrainConfig::parallel).orElse(Parallelism.SINGLE);
    if (parallel.replicas() == 1 && collective.isEmpty()) {
      InputPipeline.Batch batch = InputPipeline.concat(tf, batches);
      PretrainingHeads.Losses losses = PretrainingModel.build(tf, cfg, variant, batch, seed, store);
      List<Variable<TFloat32>> vars = ModelRestore.variablesSoFar(graph);
      Optional<PretrainingHeads.Losses> masked = Optional.empty();
      if (maskId.isPresent()) {
        Ops mt = tf.withSubScope("scored_masked");
        masked =
            Optional.of(
                PretrainingModel.build(
                    mt,
                    cfg,
                    variant,
                    batch.withScoredPositionsShowing(mt, maskId.getAsInt()),
                    seed,
                    store.replay()));
      }
      return new Model(losses, vars, Optional.empty(), masked);
    }
    TrainConfig tc = training.orElseThrow();
    DataParallel.Replicated replicated =
        DataParallel.build(
            tf,
            graph,
            cfg,
            variant,
            batches,
            batchSize,
            seed,
            parallel,
            settings(tc),
            store,
            collective);
    LOG.info(
        String.format(
            "%d tower(s) x %d accumulation step(s): %d examples per replica%s",
            parallel.towers(),
            parallel.accumulateSteps(),
            parallel.replicaBatch(batchSize),
            tasksNote(parallel)));
    return new Model(
        replicated.losses(), replicated.vars(), Optional.of(replicated), Optional.empty());
  }

  private static AdamWeightDecay.Settings settings(TrainConfig tc) {
    return AdamWeightDecay.Settings.bert(tc.optimizer(), tc.dynamicLossScale());
  }

  /**
   * The global step, the learning-rate schedule, the optimizer (in a relaxed model with a {@code
   * qk_bound}, followed by {@link QkBound}) and the input position; with collectives, the chief's
   * decay horizon and stop flag broadcast each step, and the broadcast of its variables.
   */
  private static Training training(
      Ops tf,
      Graph graph,
      BertConfig cfg,
      TrainConfig tc,
      Model model,
      Variable<TInt64> globalStep,
      Optional<Collective> collective) {
    Operand<TFloat32> total = tc.schedule().totalStepsFeed(tf);
    Optional<Operand<TFloat32>> stopAgreed = Optional.empty();
    if (collective.isPresent()) {
      // [2]: the chief's decay horizon and stop flag. After the input's all-reduce, so that a step
      // that fails at its input (an epoch's end, on every task alike) starts no collective.
      Operand<TFloat32> stop =
          tf.withName(STOP_FEED).placeholderWithDefault(tf.constant(0f), Shape.scalar());
      Ops c =
          tf.withSubScope("chief_says")
              .withControlDependencies(List.of(model.losses().mlmWeightSum()));
      List<Output<TFloat32>> said =
          c.unstack(collective.get().fromChief(c, c.stack(List.of(total, stop))), 2L).output();
      total = said.get(0);
      stopAgreed = Optional.of(said.get(1));
    }
    Operand<TFloat32> rate =
        tf.withName(Endpoints.LEARNING_RATE)
            .identity(tc.schedule().build(tf, tf.identity(globalStep), total));
    AdamWeightDecay.Update update =
        model.replicated().isPresent()
            ? AdamWeightDecay.apply(
                tf,
                model.losses().total(),
                model.vars(),
                model.replicated().get().grads(),
                rate,
                globalStep,
                model.replicated().get().lossScale(),
                settings(tc))
            : AdamWeightDecay.build(
                tf, graph, model.losses().total(), model.vars(), rate, globalStep, settings(tc));
    if (tc.variant() == Variant.RELAXED && cfg.requireRelaxed().qkBound() > 0) {
      double bound = cfg.requireRelaxed().qkBound();
      LOG.info("Q·K scale bounded: every layer's |Wq|_F·|Wk|_F at most " + bound);
      update = QkBound.after(tf, update, model.vars(), cfg, bound);
    }
    Placeholder<TInt64> stepFeed =
        tf.withName("step_feed").placeholder(TInt64.class, Placeholder.shape(Shape.scalar()));
    Op setStep = tf.withName("set_global_step").assign(globalStep, stepFeed);
    InputPosition position = InputPosition.build(tf);
    // Built last: it covers every variable, the optimizer's slots and the input position included.
    Optional<Op> sync = collective.map(c -> c.broadcastFromChief(Collective.allVariables(graph)));
    return new Training(update, rate, globalStep, position, setStep, stepFeed, sync, stopAgreed);
  }

  /** How a collective cluster's tasks share the batch, for the log; empty otherwise. */
  private static String tasksNote(Parallelism parallel) {
    if (!parallel.collective()) {
      return "";
    }
    Cluster c = parallel.cluster().orElseThrow();
    return ", on each of "
        + c.workers().size()
        + " tasks (collective all-reduce)"
        + (c.gradients() == Precision.BF16 ? "; gradients travel in bf16" : "");
  }

  /** A local session, or on a cluster one on its master's gRPC target. */
  private static Session openSession(Graph graph, Optional<Parallelism> parallel, boolean xla) {
    Optional<Cluster> cluster = parallel.flatMap(Parallelism::cluster);
    if (cluster.isEmpty()) {
      return new Session(graph, sessionConfig(xla));
    }
    return NativeSessions.open(
        graph, cluster.get().sessionTarget(), cluster.get().sessionConfig(sessionConfig(xla)));
  }

  /** Runs the initializers (fresh weights, zero slots, step 0). */
  public void initialize() {
    session.initialize();
  }

  /**
   * With collective all-reduce: every variable takes the chief's value. Every task runs it once,
   * after the chief has initialised or restored its own, before the first step.
   */
  void syncFromChief() {
    training.flatMap(Training::syncFromChief).ifPresent(op -> session.runner().addTarget(op).run());
  }

  /** Restores everything (weights, slots, step) from one of our checkpoints: a resume. */
  public void restoreAll(Path prefix) {
    session.restore(prefix.toString());
  }

  /**
   * Overwrites the model variables (not the optimizer state or step) from a checkpoint, ours or
   * google-research/bert's: fine-tuning from a pretrained model, or CoRe phase 2 from surgery.
   * Every variable whose stored shape differs is listed in one error before anything is assigned.
   */
  public void restoreModel(Path prefix) {
    initFromCheckpoint.run(session, prefix);
  }

  /**
   * (Re)starts the input iterators: training passes the epoch's shuffle seed and the records of
   * that epoch already consumed, so a resumed run continues at the same record. Every step takes
   * the same share of the batch from each input shard, so each skips its share of those records.
   */
  public void startInput(long shuffleSeed, long skipRecords) {
    try (TInt64 seed = TInt64.scalarOf(shuffleSeed);
        TInt64 skip = TInt64.scalarOf(skipRecords / shardsInRun)) {
      Session.Runner runner = session.runner();
      for (InputPipeline.Pipeline input : inputs) {
        runner.feed(input.shuffleSeed(), seed).feed(input.skip(), skip).addTarget(input.init());
      }
      runner.run();
    }
  }

  /** Logs each model variable with its shape, and how it was set. */
  public void logVariables(String how) {
    long total = 0;
    for (Variable<TFloat32> v : modelVariables) {
      total += v.shape().size();
      LOG.fine(String.format("  %-70s %-14s %s", v.op().name(), v.shape(), how));
    }
    LOG.info(
        String.format("%d model variables, %,d parameters, %s", modelVariables.size(), total, how));
  }

  /**
   * Leaves the session unclosed: after a cluster failure TF's close waits on the dead worker. The
   * process is about to exit with the error, which releases it.
   */
  void abandonSession() {
    abandoned = true;
  }

  @Override
  public void close() {
    if (!abandoned) {
      session.close();
      graph.close();
    }
  }

  /** Session options: XLA's global JIT when asked (on CPU it also needs TF_XLA_FLAGS). */
  public static ConfigProto sessionConfig(boolean xla) {
    ConfigProto.Builder config = ConfigProto.newBuilder().setAllowSoftPlacement(true);
    if (xla) {
      config.setGraphOptions(
          GraphOptions.newBuilder()
              .setOptimizerOptions(
                  OptimizerOptions.newBuilder()
                      .setGlobalJitLevel(OptimizerOptions.GlobalJitLevel.ON_1)));
      if (System.getenv("TF_XLA_FLAGS") == null) {
        LOG.warning(
            "XLA without tf_xla_cpu_global_jit in TF_XLA_FLAGS: on CPU XLA compiles nothing;"
                + " bin/corebert sets it");
      }
    }
    return config.build();
  }
}
