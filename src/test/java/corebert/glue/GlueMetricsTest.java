package corebert.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GlueMetricsTest {
  @Test
  void accuracy() {
    assertEquals(0.75, GlueMetrics.accuracy(new int[] {0, 1, 2, 1}, new int[] {0, 1, 2, 0}));
  }

  @Test
  void f1OfThePositiveClass() {
    int[] pred = {1, 1, 0, 1, 0};
    int[] gold = {1, 0, 0, 1, 1};
    // tp=2 fp=1 fn=1: precision 2/3, recall 2/3.
    assertEquals(2.0 / 3.0, GlueMetrics.f1(pred, gold, 1), 1e-12);
    // Class 0: tp=1 fp=1 fn=1.
    assertEquals(0.5, GlueMetrics.f1(pred, gold, 0), 1e-12);
    assertEquals(0.0, GlueMetrics.f1(new int[] {0, 0}, new int[] {0, 0}, 1));
  }

  @Test
  void matthewsOfAKnownConfusionMatrix() {
    // tp=6, tn=3, fp=1, fn=2.
    int[] pred = {1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0};
    int[] gold = {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1};
    assertEquals(16 / Math.sqrt(1120), GlueMetrics.matthewsCorrelation(pred, gold), 1e-12);
    assertEquals(0.4781, GlueMetrics.matthewsCorrelation(pred, gold), 1e-4);
  }

  @Test
  void matthewsIsZeroWhenAMarginalIsEmpty() {
    assertEquals(0.0, GlueMetrics.matthewsCorrelation(new int[] {1, 1, 1}, new int[] {0, 1, 1}));
  }

  @Test
  void pearsonByHand() {
    // Deviations (-1.5,-.5,.5,1.5) and (-1.75,.25,1.25,.25): sxy 3.5, sxx 5, syy 4.75.
    double r = GlueMetrics.pearson(new double[] {1, 2, 3, 4}, new double[] {2, 4, 5, 4});
    assertEquals(3.5 / Math.sqrt(23.75), r, 1e-12);
    assertEquals(0.7182, r, 1e-4);
  }

  @Test
  void spearmanAveragesTiedRanks() {
    // Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): sxy 4.5, sxx 4.5, syy 5.
    double rho = GlueMetrics.spearman(new double[] {1, 2, 2, 3}, new double[] {1, 3, 2, 4});
    assertEquals(4.5 / Math.sqrt(22.5), rho, 1e-12);
    assertEquals(0.9487, rho, 1e-4);
  }

  @Test
  void spearmanIsOneForAnyIncreasingMap() {
    assertEquals(
        1.0, GlueMetrics.spearman(new double[] {3, 1, 2, 10}, new double[] {9, 1, 4, 100}), 1e-12);
  }

  @Test
  void pearsonOfAConstantIsNaN() {
    assertTrue(Double.isNaN(GlueMetrics.pearson(new double[] {1, 1}, new double[] {1, 2})));
  }

  @Test
  void mismatchedOrEmptyInputsAreRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> GlueMetrics.accuracy(new int[] {1}, new int[] {}));
    assertThrows(
        IllegalArgumentException.class, () -> GlueMetrics.pearson(new double[0], new double[0]));
    assertThrows(
        IllegalArgumentException.class,
        () -> GlueMetrics.matthewsCorrelation(new int[] {2}, new int[] {1}));
  }
}
