package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.PretrainingHeads;
import corebert.model.VariableStore;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/** The tiny model, both heads and the optimizer together: gradients reach every variable. */
class TrainStepTest {
  static final BertConfig TINY =
      new BertConfig(
          100,
          32,
          2,
          2,
          64,
          "gelu",
          0,
          0,
          16,
          2,
          0.02,
          Optional.of(new BertConfig.Relaxed("linear_elu", 4)));

  @Test
  void fullModelLossFallsOnAFixedBatch() {
    trainFewSteps(BertModel.Variant.FULL);
  }

  @Test
  void relaxedModelLossFallsOnAFixedBatch() {
    trainFewSteps(BertModel.Variant.RELAXED);
  }

  /** Two hand-made sequences of 8 tokens, the second padded, with 2 and 1 predictions. */
  static InputPipeline.Batch batch(Ops tf) {
    return new InputPipeline.Batch(
        tf.constant(new int[][] {{2, 11, 12, 13, 3, 14, 15, 3}, {2, 21, 22, 3, 23, 3, 0, 0}}),
        tf.constant(new int[][] {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0, 0}}),
        tf.constant(new int[][] {{0, 0, 0, 0, 0, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 0, 0}}),
        tf.constant(new int[][] {{1, 3, 0}, {2, 0, 0}}),
        tf.constant(new int[][] {{11, 13, 0}, {22, 0, 0}}),
        tf.constant(new float[][] {{1, 1, 0}, {1, 0, 0}}),
        tf.constant(new int[] {0, 1}));
  }

  private static void trainFewSteps(BertModel.Variant variant) {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      PretrainingHeads.Losses losses =
          PretrainingModel.build(tf, TINY, variant, batch(tf), 3, VariableStore.create());
      List<Variable<TFloat32>> vars = new ArrayList<>();
      for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
        GraphOperation op = it.next();
        if (op.type().equals("VariableV2")) {
          vars.add(new Variable<>(op));
        }
      }
      Variable<TInt64> step = PretrainingModel.globalStep(tf);
      AdamWeightDecay.Update update =
          AdamWeightDecay.build(
              tf,
              graph,
              losses.total(),
              vars,
              tf.constant(1e-2f),
              step,
              AdamWeightDecay.Settings.bert(AdamWeightDecay.Rule.ADAMW, false));
      assertEquals(2 * vars.size(), update.slotNames().size());
      try (Session session = new Session(graph)) {
        session.initialize();
        List<float[]> before = snapshot(session, vars);
        float first = Float.NaN;
        float last = Float.NaN;
        for (int i = 0; i < 6; i++) {
          try (Result r =
              session
                  .runner()
                  .addTarget(update.trainOp())
                  .fetch(losses.total())
                  .fetch(update.applied())
                  .fetch(update.gradNorm())
                  .run()) {
            last = ((TFloat32) r.get(0)).getFloat();
            first = i == 0 ? last : first;
            assertTrue(((TBool) r.get(1)).getBoolean(), "step " + i + " skipped");
            assertTrue(((TFloat32) r.get(2)).getFloat() > 0, "zero gradient at step " + i);
          }
        }
        assertTrue(last < first, variant + " loss " + first + " -> " + last);
        List<float[]> after = snapshot(session, vars);
        for (int i = 0; i < vars.size(); i++) {
          assertTrue(
              !java.util.Arrays.equals(before.get(i), after.get(i)),
              vars.get(i).op().name() + " never changed");
        }
        try (Result r = session.runner().fetch(step).run()) {
          assertEquals(6L, ((TInt64) r.get(0)).getLong());
        }
      }
    }
  }

  private static List<float[]> snapshot(Session session, List<Variable<TFloat32>> vars) {
    Session.Runner runner = session.runner();
    vars.forEach(runner::fetch);
    List<float[]> out = new ArrayList<>();
    try (Result r = runner.run()) {
      for (int i = 0; i < vars.size(); i++) {
        TFloat32 t = (TFloat32) r.get(i);
        float[] flat = new float[(int) t.size()];
        t.copyTo(org.tensorflow.ndarray.buffer.DataBuffers.of(flat, false, false));
        out.add(flat);
      }
    }
    return out;
  }
}
