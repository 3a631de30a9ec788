package corebert.train;

import corebert.model.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.OperationBuilder;
import org.tensorflow.Output;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBfloat16;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * TensorFlow's collective ops between the tasks of a cluster, as MultiWorkerMirroredStrategy uses
 * them: every task holds a full replica of the variables and builds the same graph, so the n-th
 * collective op of every task's graph gets the same instance key and they meet. Sums are ring
 * all-reduces: each task sends and receives about 2·(N−1)/N of the tensor, and no task carries more
 * than another.
 *
 * <p>The ops are the graph-mode V1 ops (group and instance keys as attributes), built by name: TF
 * Java 1.1.0 wraps only the V2/V3 ops, whose reduce needs a communicator resource. They need the
 * group leader in both the server's and the session's config ({@link #GROUP_LEADER}); without it
 * the first collective waits for ever. Every task runs them in the same order, one step at a time.
 */
final class Collective {
  /** The task that resolves every group: the chief, as TensorFlow's strategies choose. */
  static final String GROUP_LEADER = "/job:" + Cluster.JOB + "/replica:0/task:0";

  /**
   * Groups made in this process so far. A server keeps every group's and instance's parameters
   * (their shapes) for its lifetime, so each training graph (CoRe has two) gets its own group key,
   * counting up the same way on every task, which builds the same graphs in the same order.
   */
  private static final AtomicInteger GROUPS = new AtomicInteger();

  private final int groupKey = GROUPS.incrementAndGet();

  private final Ops tf;
  private final int groupSize;
  private final float timeoutSec;
  private final boolean chief;
  private final Precision gradients;
  private int nextInstance = 1;

  /**
   * @param groupSize the tasks, each with one member
   * @param timeoutSec how long a collective waits for the others before it fails (a dead worker)
   * @param gradients the type gradients travel in ({@link #sumGradient})
   */
  Collective(Ops tf, int groupSize, double timeoutSec, boolean chief, Precision gradients) {
    this.tf = tf;
    this.groupSize = groupSize;
    this.timeoutSec = (float) timeoutSec;
    this.chief = chief;
    this.gradients = gradients;
  }

  /**
   * A gradient summed over every task. In bf16 it travels in half the bytes: cast down, summed in
   * bf16 by the ring, cast back up. The ring adds at each of its N−1 hops, so the sum is rounded to
   * bf16's 8 bits N−1 times (once for two tasks), as Horovod's fp16 compression does; a sum in fp32
   * of bf16 messages would need an all-gather, N−1 times the bytes of one gradient per task. Every
   * task receives the same bytes, so the replicas stay equal.
   */
  Operand<TFloat32> sumGradient(Ops scope, Operand<TFloat32> g) {
    if (gradients == Precision.FP32) {
      return sum(scope, g);
    }
    Operand<TBfloat16> sent = scope.dtypes.cast(g, TBfloat16.class);
    return scope.dtypes.cast(sum(scope, sent), TFloat32.class);
  }

  /** The sum of {@code x} over every task (ring all-reduce); every task gets it. */
  <T extends TType> Operand<T> sum(Ops scope, Operand<T> x) {
    return reduce(scope, x, "Add");
  }

  /** The chief's {@code x} on every task (the other tasks' {@code x} is not used). */
  <T extends TType> Operand<T> fromChief(Ops scope, Operand<T> x) {
    if (chief) {
      return keyed(scope, "CollectiveBcastSend", "send")
          .addInput(x.asOutput())
          .setAttr("shape", x.shape())
          .build()
          .output(0);
    }
    return keyed(scope, "CollectiveBcastRecv", "recv")
        .setAttr("T", x.asOutput().dataType())
        .setAttr("shape", x.shape())
        .build()
        .output(0);
  }

  private <T extends TType> Operand<T> reduce(Ops scope, Operand<T> x, String mergeOp) {
    OperationBuilder b = keyed(scope, "CollectiveReduce", "all_reduce");
    Operation op =
        b.addInput(x.asOutput())
            .setAttr("merge_op", mergeOp)
            .setAttr("final_op", "Id")
            .setAttr("subdiv_offsets", new long[] {0})
            .build();
    return op.output(0);
  }

  /**
   * Makes every task's variables equal the chief's: the chief broadcasts each one, the other tasks
   * assign what they receive. Run once after the chief has initialised or restored and before the
   * first step, on every task. {@code vars} must be the same list, in the same order, everywhere.
   */
  Op broadcastFromChief(List<Output<?>> vars) {
    Ops b = tf.withSubScope("broadcast_from_chief");
    List<Op> done = new ArrayList<>();
    for (Output<?> v : vars) {
      Operand<?> value = fromChief(b, b.identity(v));
      done.add(chief ? b.identity(value) : assign(b, v, value.asOutput()));
    }
    return b.withControlDependencies(done).noOp();
  }

  /** The Assign of a variable's ref output: {@code v = value}. */
  @SuppressWarnings("unchecked")
  private static Op assign(Ops b, Output<?> v, Output<?> value) {
    return b.assign((Operand<TType>) v, (Operand<TType>) value);
  }

  /** A collective op of this group with the next instance key. */
  private OperationBuilder keyed(Ops scope, String type, String name) {
    return scope
        .scope()
        .opBuilder(type, name)
        .setAttr("group_size", groupSize)
        .setAttr("group_key", groupKey)
        .setAttr("instance_key", nextInstance++)
        .setAttr("communication_hint", "auto")
        .setAttr("timeout_seconds", timeoutSec);
  }

  /** Every variable of {@code graph} (model, slots, step, loss scale, input position), in order. */
  static List<Output<?>> allVariables(Graph graph) {
    List<Output<?>> vars = new ArrayList<>();
    ModelRestore.variableOps(graph).forEach(op -> vars.add(op.output(0)));
    return vars;
  }
}
