package corebert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The unigram reference and [MASK]'s id, from counts of scored positions. */
class ScoredTokensTest {
  @Test
  void addOneUnigramLossOfHeldOutLabels() {
    // Training labels 5, 5, 6; held-out labels 5 and 7; 20 tokens.
    ScoredTokens train = new ScoredTokens(Map.of(5L, 2L, 6L, 1L), 3, Map.of(4L, 3L));
    ScoredTokens heldOut = new ScoredTokens(Map.of(5L, 1L, 7L, 1L), 2, Map.of(4L, 2L));
    double expected = -(Math.log(3 / 23.0) + Math.log(1 / 23.0)) / 2;
    assertEquals(expected, train.unigramLoss(heldOut, 20), 1e-12);
    // Always guessing 5, the training data's top token, is right once in two.
    assertEquals(0.5, train.unigramAccuracy(heldOut), 1e-12);
  }

  @Test
  void maskIdIsWhatMostScoredPositionsShow() {
    // google-research's 80/10/10: [MASK] (id 4) at 8 of 10, the token itself or another at 2.
    assertEquals(4L, new ScoredTokens(Map.of(5L, 10L), 10, Map.of(4L, 8L, 5L, 2L)).maskId());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new ScoredTokens(Map.of(5L, 10L), 10, Map.of(4L, 4L, 5L, 3L, 6L, 3L)).maskId());
    assertTrue(e.getMessage().contains("cannot tell [MASK]'s id"), e.getMessage());
  }
}
