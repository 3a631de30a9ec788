package corebert.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How one optimizer step's batch is split. The global batch ({@code --batch-size}) is cut into
 * {@code towers × accumulateSteps} equal replicas: towers run side by side on their own devices,
 * the accumulation steps of a tower one after the other. Every replica's gradient is summed into
 * one update, normalised by the global batch, so the step equals one tower on the whole batch.
 *
 * @param numGpus towers on this machine, on {@code /device:GPU:0..N-1} (soft placement puts them on
 *     the CPU where there is no GPU)
 * @param accumulateSteps sequential micro-batches per tower and update
 */
public record Parallelism(int numGpus, int accumulateSteps) {
  public static final Parallelism SINGLE = new Parallelism(1, 1);

  public Parallelism {
    if (numGpus < 1) {
      throw new IllegalArgumentException("--num-gpus must be >= 1, got " + numGpus);
    }
    if (accumulateSteps < 1) {
      throw new IllegalArgumentException("--accumulate-steps must be >= 1, got " + accumulateSteps);
    }
  }

  /** Towers in the whole run. */
  public int towers() {
    return numGpus;
  }

  /** Model replicas in the graph: towers × accumulation steps. */
  public int replicas() {
    return towers() * accumulateSteps;
  }

  /** Examples per replica; the global batch must split evenly. */
  public int replicaBatch(int globalBatch) {
    if (globalBatch % replicas() != 0) {
      throw new IllegalArgumentException(
          "--batch-size " + globalBatch + " does not split into " + towers() + " tower(s) × "
              + accumulateSteps + " accumulation step(s)");
    }
    return globalBatch / replicas();
  }

  Map<String, Object> toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("num_gpus", numGpus);
    m.put("accumulate_steps", accumulateSteps);
    return m;
  }
}
