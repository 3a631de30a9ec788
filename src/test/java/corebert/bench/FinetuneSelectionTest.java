package corebert.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import corebert.glue.FineTuner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class FinetuneSelectionTest {
  @Test
  void eachSideKeepsItsBestLearningRateAndReportsEveryOne() {
    Map<Double, Double> accuracy = Map.of(5e-4, 0.50, 1e-4, 0.89, 3e-5, 0.81);
    List<Double> tried = new ArrayList<>();
    FinetuneStage.Side best =
        FinetuneStage.best(
            List.of(5e-4, 1e-4, 3e-5),
            lr -> {
              tried.add(lr);
              return new FineTuner.Results(
                  "sst-2",
                  new TreeMap<>(Map.of("accuracy", accuracy.get(lr), "eval_examples", 100.0)));
            });
    assertEquals(List.of(5e-4, 1e-4, 3e-5), tried);
    assertEquals(1e-4, best.learningRate());
    assertEquals(0.89, best.accuracy());
    assertEquals(100.0, best.evalExamples());
    assertEquals(
        Map.of("5.0E-4", 0.50, "1.0E-4", 0.89, "3.0E-5", 0.81), best.accuracyPerLearningRate());
  }
}
