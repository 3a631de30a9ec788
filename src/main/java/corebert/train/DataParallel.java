package corebert.train;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Endpoints;
import corebert.model.PretrainingHeads;
import corebert.model.VariableStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * Data-parallel replicas of the pretraining model in one graph: the global batch is cut into {@link
 * Parallelism#replicas()} slices, each slice gets its own copy of the model sharing one set of
 * variables ({@link VariableStore}), and their gradients are summed into one update.
 *
 * <p>Replicas of different towers sit on their own devices and run side by side, backward pass
 * included ({@link TowerGradients}). Replicas of one tower are accumulation steps: each starts only
 * after the previous one's gradients exist (a control dependency), so only one micro-batch's
 * activations are alive at a time.
 *
 * <p>With collective all-reduce ({@code collective} present) the graph holds this task's replicas
 * only, over its own input shard; the masked-position count W, the summed gradients and the loss
 * sums are then all-reduced over the tasks, so every task applies the same update and reports the
 * global batch's losses.
 *
 * <p>Exactness: replica r minimises mlm_loss_sum_r / W + nsp_loss_sum_r / B, where W is the masked
 * positions of the whole batch and B its size. The sum over replicas is then the single-replica
 * loss, mlm_loss_sum / W + nsp_loss_sum / B, and so is the sum of their gradients; averaging
 * per-replica means instead would weight masked positions unequally.
 */
final class DataParallel {
  private static final Logger LOG = Logger.getLogger(DataParallel.class.getName());

  /** The global losses, the model variables and the summed (loss-scaled) gradients. */
  record Replicated(
      PretrainingHeads.Losses losses,
      List<Variable<TFloat32>> vars,
      Output<?>[] grads,
      AdamWeightDecay.LossScale lossScale) {}

  private DataParallel() {}

  static Replicated build(
      Ops tf,
      Graph graph,
      BertConfig cfg,
      Variant variant,
      List<InputPipeline.Batch> shards,
      int batchSize,
      long seed,
      Parallelism p,
      AdamWeightDecay.Settings settings,
      VariableStore store,
      Optional<Collective> collective) {
    int b = p.replicaBatch(batchSize);
    boolean gpus = NativeSessions.gpuCount() > 0;
    if (!gpus && p.numGpus() > 1) {
      LOG.warning("no GPU found: the " + p.numGpus() + " towers per machine share the CPU");
    }
    Ops all = tf.withSubScope("all_replicas");
    Operand<TFloat32> weightSum = weightSum(all, shards, collective);
    // 1e-5 keeps a batch without predictions finite, as in run_pretraining.py.
    Operand<TFloat32> predictions = all.math.add(weightSum, all.constant(1e-5f));
    Operand<TFloat32> replicaShare = all.constant((float) b / batchSize);

    List<Variable<TFloat32>> vars = null;
    AdamWeightDecay.LossScale lossScale = null;
    Output<?>[] sum = null;
    Op previousDone = null;
    Sums sums = new Sums();
    // Replicas are spread evenly over the input shards: on a cluster, a task's over its own.
    int perShard = p.replicas() / shards.size();
    for (int r = 0; r < p.replicas(); r++) {
      Ops rt = replicaScope(tf, p, r, gpus, previousDone);
      InputPipeline.Batch x = slice(rt, shards.get(r / perShard), (r % perShard) * b, b);
      VariableStore vs = r == 0 ? store : store.replay();
      PretrainingHeads.Losses l = PretrainingModel.build(rt, cfg, variant, x, seed, vs);
      if (r == 0) {
        vars = ModelRestore.variablesSoFar(graph);
        lossScale = AdamWeightDecay.LossScale.build(tf, settings.dynamicLossScale());
      }
      Operand<TFloat32> nspShare = rt.math.mul(l.nspLoss(), replicaShare);
      Operand<TFloat32> objective = rt.math.add(rt.math.div(l.mlmLossSum(), predictions), nspShare);
      Output<?> scaled = AdamWeightDecay.scaled(rt, objective, lossScale, settings).asOutput();
      Output<?>[] grads = gradients(graph, p, r, gpus, scaled, vars);
      sum = r == 0 ? grads : add(tf, sum, grads);
      if ((r + 1) % p.accumulateSteps() != 0) {
        previousDone = allDone(tf, grads);
      }
      sums.add(l, nspShare);
    }
    if (collective.isPresent()) {
      sum = allReduce(tf.withSubScope("all_reduce_gradients"), collective.get(), sum);
    }
    return new Replicated(
        sums.total(all, weightSum, predictions, batchSize, collective), vars, sum, lossScale);
  }

  /** W: the masked positions of the global batch (with collectives, every task's shards). */
  private static Operand<TFloat32> weightSum(
      Ops all, List<InputPipeline.Batch> shards, Optional<Collective> collective) {
    List<Operand<TFloat32>> shardWeights = new ArrayList<>();
    for (InputPipeline.Batch shard : shards) {
      shardWeights.add(all.sum(shard.maskedLmWeights(), all.constant(new int[] {0, 1})));
    }
    Operand<TFloat32> w = all.math.addN(shardWeights);
    return collective.isPresent() ? collective.get().sum(all, w) : w;
  }

  /** Every gradient summed over the tasks. */
  @SuppressWarnings("unchecked")
  private static Output<?>[] allReduce(Ops tf, Collective c, Output<?>[] grads) {
    Output<?>[] out = new Output<?>[grads.length];
    for (int i = 0; i < grads.length; i++) {
      out[i] = c.sumGradient(tf, (Operand<TFloat32>) grads[i]).asOutput();
    }
    return out;
  }

  /**
   * Replica r's scope: at the root for replica 0 (so the variables it creates get BERT's checkpoint
   * names), on its tower's device, and after the previous accumulation step of its tower.
   */
  private static Ops replicaScope(Ops tf, Parallelism p, int r, boolean gpus, Op previousDone) {
    Ops rt = r == 0 ? tf : tf.withSubScope("replica_" + r);
    if (p.towers() > 1) {
      rt = rt.withDevice(p.device(r / p.accumulateSteps(), gpus));
    }
    if (r % p.accumulateSteps() != 0) {
      rt = rt.withControlDependencies(List.of(previousDone));
    }
    return rt;
  }

  /** d scaled / d vars, on replica r's tower device when there are several towers. */
  private static Output<?>[] gradients(
      Graph graph,
      Parallelism p,
      int r,
      boolean gpus,
      Output<?> scaled,
      List<Variable<TFloat32>> vars) {
    Output<?>[] xs = AdamWeightDecay.outputs(vars);
    if (p.towers() == 1) {
      return graph.addGradients(scaled, xs);
    }
    String device = p.device(r / p.accumulateSteps(), gpus).toString();
    return TowerGradients.add(graph, "tower_gradients_" + r, device, scaled, xs);
  }

  /** An op that waits for every gradient of one replica: the next accumulation step waits on it. */
  private static Op allDone(Ops tf, Output<?>[] grads) {
    List<Op> done = new ArrayList<>();
    for (Output<?> g : grads) {
      done.add(tf.identity(g));
    }
    return tf.withControlDependencies(done).noOp();
  }

  /** The replicas' loss sums and NSP shares, added up into the whole batch's losses. */
  private static final class Sums {
    private final List<Operand<TFloat32>> mlmLoss = new ArrayList<>();
    private final List<Operand<TFloat32>> mlmCorrect = new ArrayList<>();
    private final List<Operand<TFloat32>> nspShare = new ArrayList<>();
    private final List<Operand<TFloat32>> nspCorrect = new ArrayList<>();

    void add(PretrainingHeads.Losses replica, Operand<TFloat32> replicaNspShare) {
      mlmLoss.add(replica.mlmLossSum());
      mlmCorrect.add(replica.mlmCorrectSum());
      nspShare.add(replicaNspShare);
      nspCorrect.add(replica.nspCorrectSum());
    }

    PretrainingHeads.Losses total(
        Ops all,
        Operand<TFloat32> weightSum,
        Operand<TFloat32> predictions,
        int batchSize,
        Optional<Collective> collective) {
      // [4]: this graph's MLM loss and hits, NSP share and hits; with collectives, every task's.
      Operand<TFloat32> sums =
          all.stack(
              List.of(
                  all.math.addN(mlmLoss),
                  all.math.addN(mlmCorrect),
                  all.math.addN(nspShare),
                  all.math.addN(nspCorrect)));
      if (collective.isPresent()) {
        sums = collective.get().sum(all, sums);
      }
      List<Output<TFloat32>> s = all.unstack(sums, 4L).output();
      Operand<TFloat32> mlmLossSum = s.get(0);
      Operand<TFloat32> mlmCorrectSum = s.get(1);
      Operand<TFloat32> nspCorrectSum = s.get(3);
      Operand<TFloat32> mlm = all.withName(Endpoints.MLM_LOSS).math.div(mlmLossSum, predictions);
      Operand<TFloat32> nsp = all.withName(Endpoints.NSP_LOSS).identity(s.get(2));
      return new PretrainingHeads.Losses(
          all.withName(Endpoints.TOTAL_LOSS).math.add(mlm, nsp),
          mlm,
          nsp,
          all.withName(Endpoints.MLM_ACCURACY).math.div(mlmCorrectSum, predictions),
          all.withName(Endpoints.NSP_ACCURACY)
              .math
              .div(nspCorrectSum, all.constant((float) batchSize)),
          mlmLossSum,
          mlmCorrectSum,
          weightSum,
          nspCorrectSum);
    }
  }

  @SuppressWarnings("unchecked")
  private static Output<?>[] add(Ops tf, Output<?>[] a, Output<?>[] b) {
    Output<?>[] out = new Output<?>[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = tf.math.add((Operand<TFloat32>) a[i], (Operand<TFloat32>) b[i]).asOutput();
    }
    return out;
  }

  /** Rows [start, start + size) of every input tensor. */
  private static InputPipeline.Batch slice(Ops tf, InputPipeline.Batch x, int start, int size) {
    return new InputPipeline.Batch(
        rows(tf, x.inputIds(), start, size),
        rows(tf, x.inputMask(), start, size),
        rows(tf, x.segmentIds(), start, size),
        rows(tf, x.maskedLmPositions(), start, size),
        rows(tf, x.maskedLmIds(), start, size),
        rows(tf, x.maskedLmWeights(), start, size),
        tf.slice(
            x.nextSentenceLabels(), tf.constant(new int[] {start}), tf.constant(new int[] {size})));
  }

  /** Rows [start, start + size) of a [B, N] tensor: [size, N]. */
  private static <T extends TType> Operand<T> rows(Ops tf, Operand<T> x, int start, int size) {
    return tf.slice(x, tf.constant(new int[] {start, 0}), tf.constant(new int[] {size, -1}));
  }
}
