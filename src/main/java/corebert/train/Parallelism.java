package corebert.train;

import corebert.data.InputPipeline;
import java.util.Optional;
import org.tensorflow.DeviceSpec;

/**
 * How one optimizer step's batch is split. The global batch ({@code --batch-size}) is cut into
 * {@code towers × accumulateSteps} equal replicas: towers run side by side on their own devices,
 * the accumulation steps of a tower one after the other. Every replica's gradient is summed into
 * one update, normalised by the global batch, so the step equals one tower on the whole batch.
 *
 * @param numGpus towers on this machine, on {@code /device:GPU:0..N-1} (soft placement puts them on
 *     the CPU where there is no GPU)
 * @param accumulateSteps sequential micro-batches per tower and update
 *     <p>On a cluster with chief-held variables, this task's graph holds every worker's towers.
 *     With collective all-reduce each task's graph holds only its own towers and input shard, reads
 *     {@code 1/tasks} of the global batch, and sums its gradients with the other tasks' ({@link
 *     Collective}).
 * @param cluster the workers when training spans several machines; each runs {@code numGpus} towers
 * @param inputShards input pipelines in this task's graph, each reading its own part of the files
 *     and feeding its share of the replicas: with chief-held variables one per task, placed on that
 *     task; with collective all-reduce 1 (this task's part); on one machine 1, or more to reproduce
 *     a cluster's data order (0: one per task)
 */
public record Parallelism(
    int numGpus, int accumulateSteps, Optional<Cluster> cluster, int inputShards) {
  public static final Parallelism SINGLE = new Parallelism(1, 1, Optional.empty(), 1);

  /** One input pipeline per task. */
  public Parallelism(int numGpus, int accumulateSteps, Optional<Cluster> cluster) {
    this(numGpus, accumulateSteps, cluster, 0);
  }

  public Parallelism {
    if (numGpus < 1) {
      throw new IllegalArgumentException("towers per machine must be >= 1, got " + numGpus);
    }
    if (accumulateSteps < 1) {
      throw new IllegalArgumentException("accumulation steps must be >= 1, got " + accumulateSteps);
    }
    int tasks = cluster.filter(c -> !c.collective()).map(c -> c.workers().size()).orElse(1);
    if (inputShards == 0) {
      inputShards = tasks;
    }
    if (cluster.isPresent() && inputShards != tasks) {
      throw new IllegalArgumentException(
          "on a cluster each of the "
              + tasks
              + " tasks reads its own input shard; got "
              + inputShards
              + " input shards");
    }
    int replicas = numGpus * tasks * accumulateSteps;
    if (inputShards < 1 || (replicas > 1 && replicas % inputShards != 0)) {
      throw new IllegalArgumentException(
          "the input shards, "
              + inputShards
              + ","
              + " must be >= 1 and divide the "
              + replicas
              + " replicas");
    }
  }

  /**
   * Where input shard {@code s} runs: on its own task in a cluster (its CPU), else locally (empty).
   */
  Optional<DeviceSpec> inputDevice(int s) {
    return inGraphCluster()
        .map(
            c ->
                DeviceSpec.newBuilder()
                    .job(Cluster.JOB)
                    .task(s)
                    .deviceType(DeviceSpec.DeviceType.CPU)
                    .deviceIndex(0)
                    .build());
  }

  /** The part of the files that input pipeline {@code s} of this task's graph reads. */
  InputPipeline.Shard inputShard(int s) {
    return collective()
        ? new InputPipeline.Shard(cluster.get().task(), cluster.get().workers().size())
        : new InputPipeline.Shard(s, inputShards);
  }

  /** Whether the tasks of a cluster each hold the variables and all-reduce their gradients. */
  public boolean collective() {
    return cluster.map(Cluster::collective).orElse(false);
  }

  /** Whether this process is the chief: task 0 of a cluster, or the only process. */
  public boolean isChief() {
    return cluster.map(Cluster::isChief).orElse(true);
  }

  /** The cluster whose towers this task's graph places on every task: chief-held variables. */
  private Optional<Cluster> inGraphCluster() {
    return cluster.filter(c -> !c.collective());
  }

  /** Tasks that each take their share of the global batch in their own graph. */
  private int groups() {
    return collective() ? cluster.get().workers().size() : 1;
  }

  /** The input shards of the whole run: the records a step takes are split among them. */
  int shardsInRun() {
    return inputShards * groups();
  }

  /** Examples per step in this task's graph. */
  int taskBatch(int globalBatch) {
    return globalBatch / groups();
  }

  /** Towers in this task's graph. */
  public int towers() {
    return numGpus * inGraphCluster().map(c -> c.workers().size()).orElse(1);
  }

  /** Model replicas in the graph: towers × accumulation steps. */
  public int replicas() {
    return towers() * accumulateSteps;
  }

  /**
   * Where tower {@code t} runs: GPU t (of its worker, in a cluster), or the CPU on a machine
   * without GPUs, where towers still split the batch and their sum still equals one replica.
   */
  DeviceSpec device(int tower, boolean gpus) {
    DeviceSpec.Builder d =
        DeviceSpec.newBuilder()
            .deviceType(gpus ? DeviceSpec.DeviceType.GPU : DeviceSpec.DeviceType.CPU)
            .deviceIndex(tower % numGpus);
    inGraphCluster().ifPresent(c -> d.job(Cluster.JOB).task(tower / numGpus));
    return d.build();
  }

  /** Examples per replica; the global batch must split evenly. */
  public int replicaBatch(int globalBatch) {
    if (globalBatch % (replicas() * groups()) != 0) {
      throw new IllegalArgumentException(
          "batch size "
              + globalBatch
              + " does not split into "
              + (collective() ? groups() + " task(s) × " : "")
              + towers()
              + " tower(s) × "
              + accumulateSteps
              + " accumulation step(s)");
    }
    if (globalBatch % shardsInRun() != 0) {
      throw new IllegalArgumentException(
          "batch size " + globalBatch + " does not split into " + shardsInRun() + " input shards");
    }
    return globalBatch / (replicas() * groups());
  }
}
