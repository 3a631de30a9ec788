package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.HandMadeRecords;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The held-out metric without the copy shortcut, on hand-made records and a randomly initialised
 * bert-tiny: with every scored position shown as [MASK] in the graph, what the records show there
 * no longer matters, and records that already show [MASK] there score as they are.
 */
class MaskedMetricTest {
  private static final int VOCAB = 20;
  private static final int MASK = 4;
  private static final int SEQ = 8;

  @TempDir static Path dir;
  private static BertConfig cfg;
  private static Path checkpoint;

  @BeforeAll
  static void randomBertTiny() throws Exception {
    cfg = BertConfig.fromJsonFile(Path.of("graphs/bert-tiny.json")).withVocabSize(VOCAB);
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.FULL)) {
      checkpoint = g.save(dir.resolve("random"), 0);
    }
  }

  private static List<Path> records(String name, IntUnaryOperator shown) throws Exception {
    return List.of(HandMadeRecords.write(dir.resolve(name + ".tfrecord"), shown));
  }

  private static Evaluator.Metrics evaluate(List<Path> records) {
    return Evaluator.evaluate(
        cfg,
        Variant.FULL,
        checkpoint,
        new Evaluator.HeldOut(records, List.of(), OptionalInt.of(MASK)),
        4);
  }

  @Test
  void theMaskedMetricIgnoresWhatScoredPositionsShow() throws Exception {
    Evaluator.Metrics masked = evaluate(records("masked", label -> MASK));
    Evaluator.Metrics original = evaluate(records("original", label -> label));
    Evaluator.Metrics random = evaluate(records("random", label -> (label * 7 + 3) % VOCAB));

    // Records that already show [MASK] at every scored position: both metrics are one.
    assertEquals(masked.mlmLoss(), masked.mlmLossMasked(), 1e-6);
    assertEquals(masked.mlmAccuracy(), masked.mlmAccuracyMasked(), 1e-9);
    // The plain loss sees the token shown there; the masked one does not.
    assertNotEquals(masked.mlmLoss(), original.mlmLoss(), 1e-4);
    assertNotEquals(original.mlmLoss(), random.mlmLoss(), 1e-4);
    for (Evaluator.Metrics other : List.of(original, random)) {
      assertEquals(masked.mlmLossMasked(), other.mlmLossMasked(), 1e-6);
      assertEquals(masked.mlmAccuracyMasked(), other.mlmAccuracyMasked(), 1e-9);
    }
    assertEquals(6L, masked.examples());
  }

  @Test
  void theUnigramReferenceIsTheHeldOutRecordsOwnWithoutTrainingRecords() throws Exception {
    Evaluator.Metrics m = evaluate(records("unigram", label -> MASK));
    assertEquals("held-out records", m.unigramOf());
    // Labels 7..12 (position 3) and 9..14 (position 5) over 12 scored positions: 9..12 twice,
    // 7, 8, 13, 14 once. Add-one over 20 tokens: p = (c + 1) / (12 + 20).
    double expected = -(8 * Math.log(3 / 32.0) + 4 * Math.log(2 / 32.0)) / 12;
    assertEquals(expected, m.unigramLoss(), 1e-12);
    assertTrue(m.unigramLoss() < Math.log(VOCAB));
  }
}
