package corebert.glue;

import java.util.Arrays;

/**
 * The evaluation metrics GLUE reports, matching sklearn / scipy so that scores are comparable with
 * published BERT numbers. Every method refuses empty or differently sized inputs, since a score
 * over nothing would silently read as a result.
 */
public final class GlueMetrics {
  private GlueMetrics() {}

  /** Fraction of positions where {@code pred} equals {@code gold}. */
  public static double accuracy(int[] pred, int[] gold) {
    checkSizes(pred.length, gold.length);
    int correct = 0;
    for (int i = 0; i < pred.length; i++) {
      if (pred[i] == gold[i]) {
        correct++;
      }
    }
    return (double) correct / pred.length;
  }

  /**
   * F1 of class {@code positive}: 2tp / (2tp + fp + fn), which equals the harmonic mean of
   * precision and recall; 0 when the class is neither predicted nor present, as sklearn.
   */
  public static double f1(int[] pred, int[] gold, int positive) {
    checkSizes(pred.length, gold.length);
    long tp = 0;
    long fp = 0;
    long fn = 0;
    for (int i = 0; i < pred.length; i++) {
      boolean p = pred[i] == positive;
      boolean g = gold[i] == positive;
      if (p && g) {
        tp++;
      } else if (p) {
        fp++;
      } else if (g) {
        fn++;
      }
    }
    long denominator = 2 * tp + fp + fn;
    return denominator == 0 ? 0.0 : 2.0 * tp / denominator;
  }

  /**
   * Macro-averaged F1 over classes 0..k-1: the unweighted mean of each class's {@link #f1}, as
   * sklearn's {@code f1_score(average="macro")} over those labels.
   */
  public static double macroF1(int[] pred, int[] gold, int k) {
    checkSizes(pred.length, gold.length);
    double sum = 0;
    for (int c = 0; c < k; c++) {
      sum += f1(pred, gold, c);
    }
    return sum / k;
  }

  /**
   * Binary Matthews correlation (CoLA's metric), class 1 positive; 0 when any marginal is empty and
   * the denominator is therefore 0, as sklearn.
   */
  public static double matthewsCorrelation(int[] pred, int[] gold) {
    checkSizes(pred.length, gold.length);
    double tp = 0;
    double tn = 0;
    double fp = 0;
    double fn = 0;
    for (int i = 0; i < pred.length; i++) {
      checkBinary(pred[i]);
      checkBinary(gold[i]);
      if (pred[i] == 1) {
        if (gold[i] == 1) {
          tp++;
        } else {
          fp++;
        }
      } else if (gold[i] == 1) {
        fn++;
      } else {
        tn++;
      }
    }
    double denominator = Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn));
    return denominator == 0 ? 0.0 : (tp * tn - fp * fn) / denominator;
  }

  /** Pearson correlation; NaN when either input is constant, as scipy. */
  public static double pearson(double[] x, double[] y) {
    checkSizes(x.length, y.length);
    double meanX = Arrays.stream(x).average().orElseThrow();
    double meanY = Arrays.stream(y).average().orElseThrow();
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < x.length; i++) {
      double dx = x[i] - meanX;
      double dy = y[i] - meanY;
      sxy += dx * dy;
      sxx += dx * dx;
      syy += dy * dy;
    }
    return sxy / Math.sqrt(sxx * syy);
  }

  /** Spearman rank correlation: Pearson of the ranks, tied values sharing their average rank. */
  public static double spearman(double[] x, double[] y) {
    checkSizes(x.length, y.length);
    return pearson(ranks(x), ranks(y));
  }

  /** 1-based ranks; a run of equal values gets the mean of the ranks it spans. */
  private static double[] ranks(double[] values) {
    Integer[] order = new Integer[values.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(values[a], values[b]));
    double[] ranks = new double[values.length];
    int start = 0;
    while (start < order.length) {
      int end = start + 1;
      while (end < order.length && values[order[end]] == values[order[start]]) {
        end++;
      }
      // Positions start..end-1 hold ranks start+1..end; their mean is (start + 1 + end) / 2.
      double rank = (start + 1 + end) / 2.0;
      for (int i = start; i < end; i++) {
        ranks[order[i]] = rank;
      }
      start = end;
    }
    return ranks;
  }

  private static void checkSizes(int predicted, int gold) {
    if (predicted != gold) {
      throw new IllegalArgumentException(
          "got " + predicted + " predictions for " + gold + " gold values");
    }
    if (predicted == 0) {
      throw new IllegalArgumentException("no predictions to score");
    }
  }

  private static void checkBinary(int label) {
    if (label != 0 && label != 1) {
      throw new IllegalArgumentException("Matthews correlation is binary; got label " + label);
    }
  }
}
