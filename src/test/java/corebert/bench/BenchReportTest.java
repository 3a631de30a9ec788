package corebert.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import corebert.train.HeldOutCurve.Point;
import corebert.util.Jackson;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The core-vs-baseline report's JSON: its names, the nulls it keeps, and a lossless read back. */
class BenchReportTest {
  @Test
  void aReportReadsBackAsWrittenAndKeepsItsNulls() throws Exception {
    Point last = new Point(600, 900, "full", 6.1, 0.12, 5.9, 0.2);
    RunResult run =
        RunResult.baseline(
            "baseline-lr7e-04",
            12345,
            "2026-11-30T00:00:00Z",
            900,
            601.5,
            null,
            7e-4,
            List.of(new Point(0, 0, "full", 9.0, 0.0, 9.0, 0.0), last));
    BenchReport.Best best =
        new BenchReport.Best(
            "baseline-lr7e-04",
            7e-4,
            null,
            6.1,
            Map.of(12345L, 6.1),
            Map.of(12345L, 0.12),
            Map.of(12345L, 600.0));
    BenchReport.RunRow row = new BenchReport.RunRow(run, last, 600.0, null);
    BenchReport.Report<BenchReport.Best, BenchReport.RunRow> report =
        new BenchReport.Report<>(
            "bin/corebert bench core-vs-baseline ...",
            "graphs/bert-mini.json",
            null,
            null,
            6.85,
            0.055,
            null,
            null,
            Map.of(12345L, 1.0),
            null,
            600,
            List.of(12345L),
            Map.of(12345L, 6.1),
            best,
            best,
            List.of(row),
            List.of(row),
            null);
    String json = Jackson.writePretty(report);
    // No speedup is a finding, so the report says so rather than leaving the key out.
    assertTrue(json.contains("\"speedup\": null"), json);
    assertTrue(json.contains("\"mean_final_mlm_loss_masked\": 6.1"), json);
    assertTrue(json.contains("\"mlm_loss_masked\": 6.1"), json);
    String line = Jackson.write(report);
    assertTrue(line.contains("\"time_to_target_sec_per_seed\":{\"12345\":600.0}"), line);
    TypeReference<BenchReport.Report<BenchReport.Best, BenchReport.RunRow>> type =
        new TypeReference<>() {};
    assertEquals(report, Jackson.MAPPER.readValue(json, type));
    // A misspelt field is an error, not a silent null.
    String misspelt = json.replace("\"time_to_target_sec\"", "\"time_to_target\"");
    assertThrows(IOException.class, () -> Jackson.MAPPER.readValue(misspelt, type));
  }
}
