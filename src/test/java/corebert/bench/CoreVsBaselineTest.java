package corebert.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The speedup's arithmetic: when a curve first reaches a loss. */
class CoreVsBaselineTest {
  private static CoreVsBaseline.Point p(double sec, String phase, double loss) {
    return new CoreVsBaseline.Point(sec, 0, phase, loss, 0);
  }

  @Test
  void interpolatesBetweenTheEvaluationsAroundTheCrossing() {
    List<CoreVsBaseline.Point> curve =
        List.of(p(10, "full", 7.0), p(20, "full", 6.0), p(30, "full", 5.0));
    assertEquals(25, CoreVsBaseline.timeToReach(curve, 5.5, "full"), 1e-9);
    assertEquals(20, CoreVsBaseline.timeToReach(curve, 6.0, "full"), 1e-9);
    assertEquals(10, CoreVsBaseline.timeToReach(curve, 8.0, "full"), 1e-9);
    assertTrue(Double.isNaN(CoreVsBaseline.timeToReach(curve, 4.0, "full")));
  }

  @Test
  void onlyTheFullModelCounts() {
    // CoRe's relaxed phase may dip below the target, but only a full BERT is the product.
    List<CoreVsBaseline.Point> curve =
        List.of(p(10, "relaxed", 5.0), p(20, "full", 6.0), p(30, "full", 5.0));
    assertEquals(25, CoreVsBaseline.timeToReach(curve, 5.5, "full"), 1e-9);
  }
}
