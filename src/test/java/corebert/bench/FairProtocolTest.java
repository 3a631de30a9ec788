package corebert.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.bench.FairProtocol.Run;
import corebert.bench.FairProtocol.Verdict;
import corebert.train.HeldOutCurve.Point;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fair protocol's selection logic and arithmetic, on hand-made curves. */
class FairProtocolTest {
  private static final List<Long> SEEDS = List.of(1L, 2L);

  private static Point p(double sec, String phase, double loss) {
    return new Point(sec, 0, phase, loss, 0, loss, 0);
  }

  /** A full-BERT curve with points at 100, 200, ... seconds. */
  private static Run full(String setting, long seed, double... losses) {
    List<Point> curve = new ArrayList<>();
    for (int i = 0; i < losses.length; i++) {
      curve.add(p(100 * (i + 1), "full", losses[i]));
    }
    return new Run(setting, seed, curve);
  }

  /** Three learning rates; lr2 is best on average although lr3 wins seed 1. */
  private static List<Run> baselines() {
    return List.of(
        full("lr1", 1, 7.0, 6.9, 6.8, 6.7),
        full("lr1", 2, 7.0, 6.9, 6.8, 6.7),
        full("lr2", 1, 6.9, 6.6, 6.4, 6.3),
        full("lr2", 2, 6.9, 6.7, 6.5, 6.4),
        full("lr3", 1, 6.8, 6.5, 6.3, 6.25),
        full("lr3", 2, 7.0, 7.0, 6.9, 6.8));
  }

  @Test
  void bestBaselineHasTheLowestMeanFinalLossAndSetsATargetPerSeed() {
    Verdict v =
        FairProtocol.judge(baselines(), List.of(full("core", 1, 6.3), full("core", 2, 6.4)), SEEDS);
    assertEquals("lr2", v.bestBaseline().setting()); // mean 6.35 < lr3's 6.525 < lr1's 6.7
    assertEquals(6.3, v.targets().get(1L), 1e-12);
    assertEquals(6.4, v.targets().get(2L), 1e-12);
    assertEquals(400, v.bestBaseline().timeToTarget().get(1L), 1e-9);
    assertEquals(1.0, v.bestBaseline().minSpeedup(), 1e-12);
    // Judged against lr2's targets, lr3's seed 1 gets there sooner; seed 2 never does.
    assertEquals(400 / 300.0, v.baselines().get(2).speedup().get(1L), 1e-9);
    assertTrue(Double.isNaN(v.baselines().get(2).minSpeedup()));
  }

  @Test
  void speedupPerSeedAndTheBestCoreSettingHoldsForEverySeed() {
    List<Run> core =
        List.of(
            // Reaches 6.3 at 200 s (seed 1: 2×) and 6.4 at 250 s, midway between 6.5 and 6.3
            // (1.6×).
            full("steady", 1, 6.6, 6.3, 6.2),
            full("steady", 2, 6.6, 6.5, 6.3),
            // 4× on seed 1 but only 1.0× on seed 2: its speedup for every seed is 1.0.
            full("lucky", 1, 6.3, 6.2, 6.1),
            full("lucky", 2, 6.9, 6.8, 6.7, 6.4),
            // Misses seed 2's target: it does not count.
            full("short", 1, 6.2, 6.1, 6.0),
            full("short", 2, 6.5, 6.45, 6.41));
    Verdict v = FairProtocol.judge(baselines(), core, SEEDS);
    assertEquals("steady", v.bestCore().setting());
    assertEquals(2.0, v.bestCore().speedup().get(1L), 1e-9);
    assertEquals(400 / 250.0, v.bestCore().speedup().get(2L), 1e-9);
    assertEquals(1.6, v.speedup().orElseThrow(), 1e-9);
    assertEquals(1.0, v.cores().get(1).minSpeedup(), 1e-9);
    assertEquals(4.0, v.cores().get(1).speedup().get(1L), 1e-9);
    assertTrue(Double.isNaN(v.cores().get(2).minSpeedup()));
  }

  @Test
  void withoutASpeedupTheLowestFinalLossIsBestAndThereIsNoHeadline() {
    List<Run> core =
        List.of(full("a", 1, 6.5), full("a", 2, 6.45), full("b", 1, 6.35), full("b", 2, 6.5));
    Verdict v = FairProtocol.judge(baselines(), core, SEEDS);
    assertFalse(v.speedup().isPresent());
    assertEquals("b", v.bestCore().setting()); // mean 6.425 < 6.475
  }

  @Test
  void onlyTheFullModelCounts() {
    // CoRe's relaxed phase may dip below the target, but only a full BERT is the product.
    List<Point> curve = List.of(p(10, "relaxed", 5.0), p(20, "full", 6.0), p(30, "full", 5.0));
    assertEquals(25, FairProtocol.timeToReach(curve, 5.5, "full"), 1e-9);
  }

  @Test
  void interpolatesBetweenTheEvaluationsAroundTheCrossing() {
    List<Point> curve = List.of(p(10, "full", 7.0), p(20, "full", 6.0), p(30, "full", 5.0));
    assertEquals(25, FairProtocol.timeToReach(curve, 5.5, "full"), 1e-9);
    assertEquals(20, FairProtocol.timeToReach(curve, 6.0, "full"), 1e-9);
    assertEquals(10, FairProtocol.timeToReach(curve, 8.0, "full"), 1e-9);
    assertTrue(Double.isNaN(FairProtocol.timeToReach(curve, 4.0, "full")));
  }

  @Test
  void everySettingNeedsEverySeed() {
    List<Run> core = List.of(full("core", 1, 6.0));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> FairProtocol.judge(baselines(), core, SEEDS));
    assertTrue(e.getMessage().contains("no run with seed 2"), e.getMessage());
  }
}
