package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The two ways to name a cluster: flags (a list or a job map) and TensorFlow's TF_CONFIG. */
class ClusterSpecTest {
  @Test
  void tfConfigGivesTheWorkersAndThisTaskAndSkipsWhatDoesNotConcernUs() {
    Optional<Cluster> c =
        Cluster.fromTfConfig(
            "{\"cluster\": {\"worker\": [\"localhost:2222\", \"localhost:2223\"]},"
                + " \"task\": {\"type\": \"worker\", \"index\": 1, \"trial\": \"1\"},"
                + " \"environment\": \"cloud\"}",
            30);
    assertEquals(List.of("localhost:2222", "localhost:2223"), c.orElseThrow().workers());
    assertEquals(1, c.orElseThrow().task());
    assertEquals(Optional.empty(), Cluster.fromTfConfig(" ", 30));
  }

  @Test
  void tfConfigErrorsSayWhatIsWrong() {
    assertRefused("{\"cluster\": {\"worker\": [\"a:1\"]}}", "needs \"cluster\" and \"task\"");
    assertRefused(
        "{\"cluster\": {\"worker\": [\"a:1\"], \"ps\": [\"b:2\"]}, \"task\": {\"type\": \"worker\","
            + " \"index\": 0}}",
        "only a \"worker\" job");
    assertRefused(
        "{\"cluster\": {\"worker\": [\"a:1\"]}, \"task\": {\"type\": \"chief\", \"index\": 0}}",
        "task type must be 'worker'");
    assertRefused(
        "{\"cluster\": {\"worker\": [\"a:1\"]}, \"task\": {\"type\": \"worker\"}}",
        "needs an \"index\"");
    assertRefused("{\"cluster\": {\"worker\": \"a:1\"}, \"task\": {}}", "TF_CONFIG: ");
    assertRefused("[1, 2]", "TF_CONFIG: ");
  }

  @Test
  void aJobMapSpecIsTheWorkerList() {
    Cluster c = Cluster.parse("{\"worker\": [\"localhost:1\", \"localhost:2\"]}", "worker", 0, 30);
    assertEquals(List.of("localhost:1", "localhost:2"), c.workers());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Cluster.parse("{\"worker\": []}", "worker", 0, 30));
    assertTrue(e.getMessage().contains("non-empty \"worker\" list"), e.getMessage());
  }

  private static void assertRefused(String tfConfig, String expected) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Cluster.fromTfConfig(tfConfig, 30));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
