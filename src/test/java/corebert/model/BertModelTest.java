package corebert.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

class BertModelTest {
  static final int BATCH = 2;
  static final int SEQ = 8;
  static final int PRED = 3;
  static final int HIDDEN = 32;
  static final long SEED = 12345;

  static final BertConfig TINY =
      new BertConfig(
          100,
          HIDDEN,
          2,
          2,
          64,
          "gelu",
          0.1,
          0.1,
          16,
          2,
          0.02,
          Optional.of(new BertConfig.Relaxed("linear_elu", 4)));

  /** TINY with the Q, K, V and O kernels factorised too (corebert's deeper relaxation). */
  static final BertConfig TINY_DEEP = TINY.withRelaxed(new BertConfig.Relaxed("linear_elu", 4, 3));

  static final int[][] IDS = {{2, 11, 12, 13, 3, 14, 15, 3}, {2, 21, 22, 3, 23, 3, 0, 0}};
  static final int[][] MASK = {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0, 0}};
  static final int[][] SEGMENTS = {{0, 0, 0, 0, 0, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 0, 0}};

  /** The encoder and heads on int32 placeholders, as a training graph would build them. */
  record Built(
      Placeholder<TInt32> ids,
      Placeholder<TInt32> mask,
      Placeholder<TInt32> segments,
      Placeholder<TInt32> positions,
      Placeholder<TInt32> labels,
      Placeholder<TFloat32> weights,
      Placeholder<TInt32> nsp,
      BertModel.Outputs encoder,
      PretrainingHeads.Losses losses) {}

  static Built build(Graph graph, BertConfig cfg, BertModel.Variant variant) {
    return build(graph, cfg, variant, VariableStore.create());
  }

  static Built build(Graph graph, BertConfig cfg, BertModel.Variant variant, VariableStore store) {
    Ops tf = Ops.create(graph);
    Placeholder<TInt32> ids = intInput(tf, Endpoints.INPUT_IDS, BATCH, SEQ);
    Placeholder<TInt32> mask = intInput(tf, Endpoints.INPUT_MASK, BATCH, SEQ);
    Placeholder<TInt32> segments = intInput(tf, Endpoints.SEGMENT_IDS, BATCH, SEQ);
    Placeholder<TInt32> positions = intInput(tf, Endpoints.MASKED_LM_POSITIONS, BATCH, PRED);
    Placeholder<TInt32> labels = intInput(tf, Endpoints.MASKED_LM_IDS, BATCH, PRED);
    Placeholder<TFloat32> weights =
        tf.withName(Endpoints.MASKED_LM_WEIGHTS)
            .placeholder(TFloat32.class, Placeholder.shape(Shape.of(BATCH, PRED)));
    Placeholder<TInt32> nsp =
        tf.withName(Endpoints.NEXT_SENTENCE_LABELS)
            .placeholder(TInt32.class, Placeholder.shape(Shape.of(BATCH)));
    BertModel.Outputs encoder = BertModel.build(tf, cfg, variant, ids, mask, segments, SEED, store);
    PretrainingHeads.Losses losses =
        PretrainingHeads.build(tf, cfg, encoder, positions, labels, weights, nsp, SEED, store);
    return new Built(ids, mask, segments, positions, labels, weights, nsp, encoder, losses);
  }

  private static Placeholder<TInt32> intInput(Ops tf, String name, int rows, int cols) {
    return tf.withName(name).placeholder(TInt32.class, Placeholder.shape(Shape.of(rows, cols)));
  }

  static List<String> variableNames(Graph graph) {
    List<String> names = new ArrayList<>();
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.type().equals("VariableV2")) {
        names.add(op.name());
      }
    }
    names.sort(null);
    return names;
  }

  static List<String> golden(String file) throws Exception {
    return Files.readAllLines(Path.of("src/test/resources/golden", file)).stream()
        .filter(l -> !l.isBlank())
        .toList();
  }

  /** Builds {@code variant}, checks its checkpoint names against a golden file, and runs it. */
  private static void assertNamesAndShapes(
      BertConfig cfg, BertModel.Variant variant, String goldenFile, Consumer<Graph> more)
      throws Exception {
    try (Graph graph = new Graph()) {
      Built b = build(graph, cfg, variant);
      assertEquals(golden(goldenFile), variableNames(graph));
      more.accept(graph);
      runAndCheckShapes(graph, b);
    }
  }

  @Test
  void fullAndRelaxedModelsHaveBertShapesAndCheckpointNames() throws Exception {
    assertNamesAndShapes(TINY, BertModel.Variant.FULL, "bert_tiny_full_variables.txt", g -> {});
    // The relaxed model's FFN kernels are factorised: kernel_u and kernel_v.
    assertNamesAndShapes(
        TINY, BertModel.Variant.RELAXED, "bert_tiny_relaxed_variables.txt", g -> {});
  }

  @Test
  void deeplyRelaxedModelFactorisesTheAttentionKernelsToo() throws Exception {
    assertNamesAndShapes(
        TINY_DEEP,
        BertModel.Variant.RELAXED,
        "bert_tiny_relaxed_attention_variables.txt",
        graph ->
            assertEquals(
                Shape.of(HIDDEN, 3),
                graph
                    .operationOrThrow("bert/encoder/layer_1/attention/self/key/kernel_u")
                    .output(0)
                    .shape()));
  }

  @Test
  void fusedQkvGivesTheUnfusedOutputsForTheSameCheckpoint(@TempDir Path dir) {
    for (BertConfig cfg : List.of(TINY, TINY_DEEP)) {
      for (BertModel.Variant variant : BertModel.Variant.values()) {
        String prefix =
            dir.resolve(variant + "-" + cfg.requireRelaxed().attentionRank()).toString();
        float[][] unfused;
        float[][] fused;
        try (Graph graph = new Graph()) {
          Built b =
              build(
                  graph,
                  cfg.withoutDropout(),
                  variant,
                  VariableStore.create(Precision.FP32, false));
          try (Session session = new Session(graph)) {
            session.initialize();
            session.save(prefix);
            unfused = sequenceOutput(session, b, IDS, MASK, SEGMENTS);
          }
        }
        try (Graph graph = new Graph()) {
          Built b =
              build(
                  graph, cfg.withoutDropout(), variant, VariableStore.create(Precision.FP32, true));
          assertTrue(hasOpType(graph, "Split"), "the fused graph splits one Q/K/V product");
          try (Session session = new Session(graph)) {
            session.restore(prefix); // no initialize: every weight comes from the checkpoint
            fused = sequenceOutput(session, b, IDS, MASK, SEGMENTS);
          }
        }
        float max = 0;
        for (int i = 0; i < unfused.length; i++) {
          for (int j = 0; j < HIDDEN; j++) {
            max = Math.max(max, Math.abs(unfused[i][j] - fused[i][j]));
          }
        }
        assertTrue(max < 1e-5, variant + ": fused and unfused outputs differ by " + max);
      }
    }
  }

  private static boolean hasOpType(Graph graph, String type) {
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      if (it.next().type().equals(type)) {
        return true;
      }
    }
    return false;
  }

  private static void runAndCheckShapes(Graph graph, Built b) {
    try (Session session = new Session(graph);
        TInt32 ids = TInt32.tensorOf(StdArrays.ndCopyOf(IDS));
        TInt32 mask = TInt32.tensorOf(StdArrays.ndCopyOf(MASK));
        TInt32 segments = TInt32.tensorOf(StdArrays.ndCopyOf(SEGMENTS));
        TInt32 positions = TInt32.tensorOf(StdArrays.ndCopyOf(new int[][] {{1, 3, 0}, {2, 0, 0}}));
        TInt32 labels = TInt32.tensorOf(StdArrays.ndCopyOf(new int[][] {{11, 13, 0}, {22, 0, 0}}));
        TFloat32 weights =
            TFloat32.tensorOf(StdArrays.ndCopyOf(new float[][] {{1, 1, 0}, {1, 0, 0}}));
        TInt32 nsp = TInt32.vectorOf(0, 1)) {
      session.initialize();
      try (Result r =
          session
              .runner()
              .feed(b.ids(), ids)
              .feed(b.mask(), mask)
              .feed(b.segments(), segments)
              .feed(b.positions(), positions)
              .feed(b.labels(), labels)
              .feed(b.weights(), weights)
              .feed(b.nsp(), nsp)
              .fetch(b.encoder().sequenceOutput())
              .fetch(b.encoder().pooledOutput())
              .fetch(b.losses().total())
              .fetch(b.losses().mlmWeightSum())
              .run()) {
        assertEquals(Shape.of(BATCH * SEQ, HIDDEN), r.get(0).shape());
        assertEquals(Shape.of(BATCH, HIDDEN), r.get(1).shape());
        float total = ((TFloat32) r.get(2)).getFloat();
        assertTrue(Float.isFinite(total) && total > 0, "total loss " + total);
        assertEquals(3f, ((TFloat32) r.get(3)).getFloat());
      }
    }
  }

  @Test
  void fullModelIgnoresTokensUnderPadding() {
    assertPaddingInvariant(BertModel.Variant.FULL);
  }

  @Test
  void relaxedModelIgnoresTokensUnderPadding() {
    assertPaddingInvariant(BertModel.Variant.RELAXED);
  }

  /** Changing ids (and segments) where input_mask is 0 must not move any unmasked output row. */
  private static void assertPaddingInvariant(BertModel.Variant variant) {
    int[][] mask = {{1, 1, 1, 1, 1, 0, 0, 0}, {1, 1, 1, 0, 0, 0, 0, 0}};
    int[][] idsA = {{2, 11, 12, 3, 13, 0, 0, 0}, {2, 21, 3, 0, 0, 0, 0, 0}};
    int[][] idsB = {{2, 11, 12, 3, 13, 77, 5, 99}, {2, 21, 3, 40, 41, 42, 43, 44}};
    int[][] segments = {{0, 0, 0, 0, 1, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}};
    try (Graph graph = new Graph()) {
      Built b = build(graph, TINY.withoutDropout(), variant);
      try (Session session = new Session(graph)) {
        session.initialize();
        float[][] a = sequenceOutput(session, b, idsA, mask, segments);
        float[][] c = sequenceOutput(session, b, idsB, mask, segments);
        float maxPaddedDiff = 0;
        for (int batch = 0; batch < BATCH; batch++) {
          for (int t = 0; t < SEQ; t++) {
            int row = batch * SEQ + t;
            for (int h = 0; h < HIDDEN; h++) {
              if (mask[batch][t] == 1) {
                assertEquals(a[row][h], c[row][h], 1e-5, "row " + row + " hidden " + h);
              } else {
                maxPaddedDiff = Math.max(maxPaddedDiff, Math.abs(a[row][h] - c[row][h]));
              }
            }
          }
        }
        // The test can fail: the padded rows themselves did change.
        assertTrue(maxPaddedDiff > 1e-3, "padded rows unchanged, the feed had no effect");
      }
    }
  }

  private static float[][] sequenceOutput(
      Session session, Built b, int[][] ids, int[][] mask, int[][] segments) {
    try (TInt32 idsT = TInt32.tensorOf(StdArrays.ndCopyOf(ids));
        TInt32 maskT = TInt32.tensorOf(StdArrays.ndCopyOf(mask));
        TInt32 segT = TInt32.tensorOf(StdArrays.ndCopyOf(segments));
        Result r =
            session
                .runner()
                .feed(b.ids(), idsT)
                .feed(b.mask(), maskT)
                .feed(b.segments(), segT)
                .fetch(b.encoder().sequenceOutput())
                .run()) {
      return StdArrays.array2dCopyOf((TFloat32) r.get(0));
    }
  }

  @Test
  void linearAttentionStaysFiniteWithOnlyTheFirstTokenUnmasked() {
    int[][] mask = {{1, 0, 0, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0, 0, 0}};
    try (Graph graph = new Graph()) {
      Built b = build(graph, TINY.withoutDropout(), BertModel.Variant.RELAXED);
      try (Session session = new Session(graph)) {
        session.initialize();
        float[][] out = sequenceOutput(session, b, IDS, mask, SEGMENTS);
        assertEquals(BATCH * SEQ, out.length);
        for (float[] row : out) {
          for (float x : row) {
            assertTrue(Float.isFinite(x), "non-finite output " + x);
          }
        }
        // LayerNorm output is not all zero: the attention carried something.
        assertNotEquals(0f, out[0][0]);
      }
    }
  }
}
