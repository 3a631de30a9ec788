package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.util.JsonMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** metrics.jsonl as runs on disk have it: read, resumed and appended to. */
class MetricsLogTest {
  @TempDir Path dir;

  @Test
  void aLogWrittenBeforeTheTypedRecordsResumesAndGrows() throws Exception {
    // Four lines of quickstart's log, written by the hand-made JSON writer used until Jackson.
    Path file = dir.resolve(RunDir.METRICS);
    Files.copy(Path.of("src/test/resources/fixtures/metrics.jsonl"), file);
    List<MetricsLog.Entry> read = MetricsLog.read(file);
    assertEquals(List.of(1L, 10L, 20L, 30L), read.stream().map(MetricsLog.Entry::step).toList());
    assertEquals("relaxed", read.get(0).phase());
    assertEquals(8.336881637573242, read.get(0).mlmLoss());
    assertEquals(1121.7890625, read.get(0).rssMb());

    // Resuming from step 20 drops the line of step 30, which the crash lost; a line cut short
    // by the crash goes too.
    Files.writeString(file, Files.readString(file) + "{\"step\":40,\"pha");
    try (MetricsLog log = new MetricsLog(dir, 20)) {
      log.log(new MetricsLog.Entry(21, "full", 7.5, 7.0, 0.5, 0.1, 1e-4, 1.2, 100, 9.5, null, 3.0));
    }
    List<MetricsLog.Entry> resumed = MetricsLog.read(file);
    assertEquals(List.of(1L, 10L, 20L, 21L), resumed.stream().map(MetricsLog.Entry::step).toList());
    assertEquals(null, resumed.get(3).rssMb(), "no /proc: no made-up memory figure");
    Map<String, Object> line = JsonMaps.parseObject(Files.readAllLines(file).get(3));
    assertTrue(
        line.containsKey("examples_per_sec") && line.containsKey("grad_norm"), line.toString());

    Files.writeString(file, "{\"step\": 1, \"phase\": \"full\"}\n");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> MetricsLog.read(file));
    assertTrue(e.getMessage().startsWith(file + ":1: "), e.getMessage());
  }
}
