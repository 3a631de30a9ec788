package corebert.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FinetuneSelectionTest {
  @Test
  void eachSideKeepsItsBestLearningRateAndReportsEveryOne() {
    Map<Double, Double> accuracy = Map.of(5e-4, 0.50, 1e-4, 0.89, 3e-5, 0.81);
    List<Double> tried = new ArrayList<>();
    Map<String, Object> best =
        FinetuneStage.best(
            List.of(5e-4, 1e-4, 3e-5),
            lr -> {
              tried.add(lr);
              return Map.of("task", "sst-2", "accuracy", accuracy.get(lr));
            });
    assertEquals(List.of(5e-4, 1e-4, 3e-5), tried);
    assertEquals(1e-4, best.get("learning_rate"));
    assertEquals(0.89, best.get("accuracy"));
    assertEquals(
        Map.of("5.0E-4", 0.50, "1.0E-4", 0.89, "3.0E-5", 0.81),
        best.get("accuracy_per_learning_rate"));
  }
}
