package corebert.train;

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
 * @param cluster the workers when training spans several machines; each runs {@code numGpus} towers
 * @param inputShards input pipelines, each reading its own part of the files and feeding its share
 *     of the replicas: on a cluster one per task, placed on that task; on one machine 1, or more to
 *     reproduce a cluster's data order (0: one per task)
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
    int tasks = cluster.map(c -> c.workers().size()).orElse(1);
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
    return cluster.map(
        c ->
            DeviceSpec.newBuilder()
                .job(Cluster.JOB)
                .task(s)
                .deviceType(DeviceSpec.DeviceType.CPU)
                .deviceIndex(0)
                .build());
  }

  /** Towers in the whole run. */
  public int towers() {
    return numGpus * cluster.map(c -> c.workers().size()).orElse(1);
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
    cluster.ifPresent(c -> d.job(Cluster.JOB).task(tower / numGpus));
    return d.build();
  }

  /** Examples per replica; the global batch must split evenly. */
  public int replicaBatch(int globalBatch) {
    if (globalBatch % replicas() != 0) {
      throw new IllegalArgumentException(
          "batch size "
              + globalBatch
              + " does not split into "
              + towers()
              + " tower(s) × "
              + accumulateSteps
              + " accumulation step(s)");
    }
    if (globalBatch % inputShards != 0) {
      throw new IllegalArgumentException(
          "batch size " + globalBatch + " does not split into " + inputShards + " input shards");
    }
    return globalBatch / replicas();
  }
}
