package corebert.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import corebert.core.CorePipeline;
import corebert.model.BertConfig;
import corebert.run.RunReport;
import corebert.util.Jackson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every committed result under eval/ reads as the typed record of the command that wrote it, with
 * the mapper's strict rules (an unknown or missing field fails). The run store's entries are read
 * by {@link RunStoreTest}.
 */
class EvalFilesTest {
  private static final TypeReference<BenchReport.Report<BenchReport.Best, BenchReport.RunRow>>
      REPORT = new TypeReference<>() {};
  private static final TypeReference<
          BenchReport.Report<BenchReport.LegacyBest, BenchReport.LegacyRun>>
      LEGACY = new TypeReference<>() {};

  @Test
  void everyCommittedResultReadsAsItsRecord() throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(Path.of("eval"))) {
      files =
          walk.filter(f -> f.toString().endsWith(".json"))
              .filter(f -> !f.startsWith("eval/core-vs-baseline-runs"))
              .sorted()
              .toList();
    }
    assertTrue(files.size() >= 30, "eval/ holds the committed results: " + files);
    List<String> legacy = new ArrayList<>();
    for (Path f : files) {
      String name = f.getFileName().toString();
      String text = Files.readString(f);
      JsonNode tree = Jackson.parseTree(text);
      if (name.startsWith("bench-step") || name.startsWith("step-")) {
        StepBenchmark.Report r = Jackson.read(text, StepBenchmark.Report.class);
        assertFalse(r.results().isEmpty(), f.toString());
      } else if (name.startsWith("bench-backends")) {
        assertEquals(4, Jackson.read(text, BackendBenchmark.Report.class).settings().size());
      } else if (name.startsWith("bench-data")) {
        assertFalse(Jackson.read(text, DataBenchmark.Report.class).results().isEmpty());
      } else if (name.startsWith("bench-scale")) {
        assertFalse(Jackson.read(text, ScaleBenchmark.Report.class).comparisons().isEmpty());
      } else if (name.startsWith("core-vs-baseline") || name.matches("bench\\d+\\.json")) {
        if (tree.path("best_baseline").has("mean_final_mlm_loss")) {
          legacy.add(f.toString());
          assertFalse(Jackson.MAPPER.readValue(text, LEGACY).baselineRuns().isEmpty());
        } else {
          assertFalse(Jackson.MAPPER.readValue(text, REPORT).baselineRuns().isEmpty());
        }
      } else if (name.equals("report.json")) {
        assertTrue(Jackson.read(text, RunReport.Report.class).finalStep() > 0, f.toString());
      } else if (tree.has("summary")) {
        // A script's wrapper (eval/switch_levers.sh, the exploration's C1) of `core`'s last line.
        Jackson.convert(tree.get("summary"), CorePipeline.Summary.class);
        assertEquals(Set.of(), unknownKeys(tree, "command", "phase_1", "machine", "summary"));
      } else {
        BertConfig.fromJsonFile(f); // eval/map's configs
      }
    }
    // The reports before the masked metric (issue 20): their mean_final_mlm_loss and the runs'
    // final_mlm_loss are the plain held-out loss, so today's records, whose best setting has
    // mean_final_mlm_loss_masked and whose runs nest the stored run, refuse them.
    assertEquals(6, legacy.size(), legacy.toString());
    for (String f : legacy) {
      String text = Files.readString(Path.of(f));
      assertThrows(IOException.class, () -> Jackson.MAPPER.readValue(text, REPORT), f);
    }
  }

  private static Set<String> unknownKeys(JsonNode tree, String... known) {
    Set<String> keys = new java.util.TreeSet<>();
    tree.fieldNames().forEachRemaining(keys::add);
    keys.removeAll(Set.of(known));
    return keys;
  }
}
