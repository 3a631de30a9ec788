package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.InputPipeline;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.model.PretrainingHeads;
import corebert.model.VariableStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;

/**
 * Each tower's backward pass runs on that tower's device. A session with two CPU devices stands in
 * for two GPUs: one traced step's step_stats say which device ran every kernel.
 */
class TowerPlacementTest {
  private static final long SEED = 3;

  private static ConfigProto twoCpus() {
    return ConfigProto.newBuilder()
        .putDeviceCount("CPU", 2)
        .setAllowSoftPlacement(false)
        .setInterOpParallelismThreads(1)
        .build();
  }

  @Test
  void eachTowersGradientKernelsRunOnItsOwnDeviceAndTheSumIsOneReplicas() {
    float[] oneLoss;
    List<float[]> oneGrads;
    // The reference: one replica over the whole batch, gradients by plain addGradients.
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      InputPipeline.Batch batch = TrainStepTest.batch(tf);
      PretrainingHeads.Losses l =
          PretrainingModel.build(
              tf, TrainStepTest.TINY, Variant.FULL, batch, SEED, VariableStore.create());
      Output<?>[] grads =
          g.addGradients(
              l.total().asOutput(), AdamWeightDecay.outputs(ModelRestore.variablesSoFar(g)));
      try (Session s = new Session(g, twoCpus())) {
        s.initialize();
        oneLoss = new float[1];
        oneGrads = run(s, l.total().asOutput(), grads, oneLoss, null);
      }
    }

    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      DataParallel.Replicated towers =
          DataParallel.build(
              tf,
              g,
              TrainStepTest.TINY,
              Variant.FULL,
              List.of(TrainStepTest.batch(tf)),
              2,
              SEED,
              new Parallelism(2, 1, Optional.empty()),
              AdamWeightDecay.Settings.bert(AdamWeightDecay.Rule.ADAMW, false),
              VariableStore.create(Precision.FP32),
              Optional.empty());
      try (Session s = new Session(g, twoCpus())) {
        s.initialize();
        float[] loss = new float[1];
        RunMetadata[] metadata = new RunMetadata[1];
        List<float[]> grads =
            run(s, towers.losses().total().asOutput(), towers.grads(), loss, metadata);
        assertEquals(oneLoss[0], loss[0], 1e-5, "2 towers' loss = one replica's");
        assertEquals(oneGrads.size(), grads.size());
        for (int i = 0; i < grads.size(); i++) {
          for (int j = 0; j < grads.get(i).length; j++) {
            assertEquals(
                oneGrads.get(i)[j], grads.get(i)[j], 1e-5, "gradient " + i + "[" + j + "]");
          }
        }
        Map<String, List<String>> devices = gradientMatMulDevices(metadata[0]);
        for (int tower = 0; tower < 2; tower++) {
          List<String> ran = devices.getOrDefault("tower_gradients_" + tower, List.of());
          assertFalse(ran.isEmpty(), "tower " + tower + " ran no gradient MatMul: " + devices);
          for (String d : ran) {
            assertTrue(d.endsWith("/device:CPU:" + tower), "tower " + tower + " kernel on " + d);
          }
        }
      }
    }
  }

  /** Fetches the loss and the gradients; with {@code metadata}, traces the step. */
  private static List<float[]> run(
      Session s, Output<?> loss, Output<?>[] grads, float[] lossOut, RunMetadata[] metadata) {
    Session.Runner runner = s.runner().fetch(loss);
    for (Output<?> g : grads) {
      runner.fetch(g);
    }
    if (metadata != null) {
      runner.setOptions(
          RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build());
    }
    try (Result r = metadata != null ? runner.runAndFetchMetadata() : runner.run()) {
      if (metadata != null) {
        metadata[0] = r.getMetadata().orElseThrow();
      }
      lossOut[0] = ((TFloat32) r.get(0)).getFloat();
      List<float[]> out = new ArrayList<>();
      for (int i = 1; i <= grads.length; i++) {
        TFloat32 t = (TFloat32) r.get(i);
        float[] v = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(v, false, false));
        out.add(v);
      }
      return out;
    }
  }

  /** For each gradient prefix, the devices its MatMul kernels ran on. */
  private static Map<String, List<String>> gradientMatMulDevices(RunMetadata metadata) {
    Map<String, List<String>> devices = new HashMap<>();
    for (DeviceStepStats d : metadata.getStepStats().getDevStatsList()) {
      for (NodeExecStats n : d.getNodeStatsList()) {
        String name = n.getNodeName();
        if (name.startsWith("tower_gradients_") && n.getTimelineLabel().contains("MatMul")) {
          String prefix = name.substring(0, name.indexOf('/'));
          devices.computeIfAbsent(prefix, k -> new ArrayList<>()).add(d.getDevice());
        }
      }
    }
    return devices;
  }
}
