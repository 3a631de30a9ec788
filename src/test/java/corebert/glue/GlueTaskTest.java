package corebert.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlueTaskTest {
  @TempDir Path dir;

  private Path write(String name, String... lines) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    return file;
  }

  /**
   * Each reader on a sample in GLUE's own layout, src/test/resources/glue/TASK/FILE, must give the
   * examples in FILE.expected (text_a, [text_b,] label; TAB-separated). The samples cover CoLA
   * without a header and with a blank line, quotes kept verbatim, trailing spaces kept, and MNLI's
   * gold label in the last column whether train (12 columns) or dev (16).
   */
  @ParameterizedTest
  @CsvSource({
    "cola, train.tsv",
    "sst-2, train.tsv",
    "mrpc, dev.tsv",
    "sts-b, train.tsv",
    "qqp, train.tsv",
    "mnli, train.tsv",
    "mnli, dev_matched.tsv",
    "qnli, dev.tsv",
    "rte, train.tsv",
    "wnli, dev.tsv"
  })
  void readsEachTasksGlueLayout(String task, String file) throws IOException {
    Path sample = Path.of("src/test/resources/glue", task, file);
    List<GlueExample> expected = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(sample + ".expected"))) {
      String[] f = line.split("\t", -1);
      expected.add(new GlueExample(f[0], f.length == 3 ? f[1] : null, f[f.length - 1]));
    }
    assertTrue(!expected.isEmpty(), sample + ".expected lists no example");
    assertEquals(expected, GlueTask.fromName(task).read(sample));
  }

  @Test
  void stsbRefusesScoresOffTheScale() throws IOException {
    String header =
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore";
    Path high = write("high.tsv", header, "0\tg\tf\ty\to\ts\ts\tA.\tB.\t5.2");
    Path text = write("text.tsv", header, "0\tg\tf\ty\to\ts\ts\tA.\tB.\tsimilar");
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> GlueTask.STSB.read(high))
            .getMessage()
            .startsWith(high + ":2: score 5.2"));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> GlueTask.STSB.read(text))
            .getMessage()
            .startsWith(text + ":2: score 'similar'"));
  }

  @Test
  void wrongColumnCountNamesFileAndLine() throws IOException {
    Path file =
        write(
            "train.tsv",
            "index\tsentence1\tsentence2\tlabel",
            "0\tA man is sleeping.\tSomeone sleeps.\tentailment",
            "1\tA dog runs.\tentailment");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GlueTask.RTE.read(file));
    assertEquals(file + ":3: expected 4 columns for rte, got 3", e.getMessage());
  }

  @Test
  void mnliNeedsAtLeastTwelveColumns() throws IOException {
    Path file = write("train.tsv", "header", "0\t1\t2\t3\t4\t5\t6\t7\tA.\tB.\tneutral");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GlueTask.MNLI.read(file));
    assertEquals(file + ":2: expected at least 12 columns for mnli, got 11", e.getMessage());
  }

  @Test
  void unknownLabelIsRefused() throws IOException {
    Path file =
        write(
            "dev.tsv",
            "index\tquestion\tsentence\tlabel",
            "0\tWho wrote it?\tIt was written by Ann.\tcontradiction");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GlueTask.QNLI.read(file));
    assertEquals(
        file + ":2: label 'contradiction' is not one of [entailment, not_entailment] for qnli",
        e.getMessage());
  }

  @Test
  void missingAndEmptyFilesAreRefused() throws IOException {
    Path missing = dir.resolve("absent.tsv");
    Path headerOnly = write("dev.tsv", "sentence\tlabel", "");
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> GlueTask.SST2.read(missing))
            .getMessage()
            .contains(missing.toString()));
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> GlueTask.SST2.read(headerOnly))
            .getMessage()
            .contains(headerOnly.toString()));
  }

  @Test
  void fromNameAcceptsGlueSpellings() {
    assertEquals(GlueTask.SST2, GlueTask.fromName("SST-2"));
    assertEquals(GlueTask.SST2, GlueTask.fromName("sst2"));
    assertEquals(GlueTask.STSB, GlueTask.fromName("sts-b"));
    assertEquals(GlueTask.STSB, GlueTask.fromName("StsB"));
    assertEquals(GlueTask.MNLI, GlueTask.fromName("MNLI"));
    for (GlueTask task : GlueTask.values()) {
      assertEquals(task, GlueTask.fromName(task.displayName()));
    }
  }

  @Test
  void unknownTaskListsTheKnownOnes() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> GlueTask.fromName("squad"));
    assertEquals(
        "unknown task 'squad'; known tasks: cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte, wnli",
        e.getMessage());
  }

  @Test
  void labelsAndFilesMatchRunClassifier() {
    assertEquals(List.of("contradiction", "entailment", "neutral"), GlueTask.MNLI.labels());
    assertEquals(List.of("entailment", "not_entailment"), GlueTask.RTE.labels());
    assertEquals(List.of("0", "1"), GlueTask.COLA.labels());
    assertEquals(List.of(), GlueTask.STSB.labels());
    assertTrue(GlueTask.STSB.isRegression());
    assertEquals(1, Arrays.stream(GlueTask.values()).filter(GlueTask::isRegression).count());
    assertEquals(List.of("dev_matched.tsv", "dev_mismatched.tsv"), GlueTask.MNLI.devFiles());
    assertEquals(List.of("dev.tsv"), GlueTask.QQP.devFiles());
    assertEquals("train.tsv", GlueTask.WNLI.trainFile());
  }

  @Test
  void metricsPerTask() {
    double[] pred = {1, 1, 0, 1, 0};
    double[] gold = {1, 0, 0, 1, 1};
    Map<String, Double> mrpc = GlueTask.MRPC.metrics(pred, gold);
    assertEquals(List.of("accuracy", "f1"), List.copyOf(mrpc.keySet()));
    assertEquals(0.6, mrpc.get("accuracy"), 1e-12);
    assertEquals(2.0 / 3.0, mrpc.get("f1"), 1e-12);
    Map<String, Double> cola = GlueTask.COLA.metrics(pred, gold);
    assertEquals(List.of("accuracy", "matthews_corr"), List.copyOf(cola.keySet()));
    // tp=2 tn=1 fp=1 fn=1: (2 - 1) / sqrt(3 * 3 * 2 * 2) = 1/6.
    assertEquals(1.0 / 6.0, cola.get("matthews_corr"), 1e-12);
    assertEquals(List.of("accuracy"), List.copyOf(GlueTask.MNLI.metrics(pred, gold).keySet()));
    Map<String, Double> stsb =
        GlueTask.STSB.metrics(new double[] {1, 2, 3, 4}, new double[] {2, 4, 5, 4});
    assertEquals(List.of("pearson", "spearman"), List.copyOf(stsb.keySet()));
    assertEquals(3.5 / Math.sqrt(23.75), stsb.get("pearson"), 1e-12);
  }

  @Test
  void metricsRefuseIndicesOutsideTheLabels() {
    assertThrows(
        IllegalArgumentException.class,
        () -> GlueTask.SST2.metrics(new double[] {2}, new double[] {1}));
    assertThrows(
        IllegalArgumentException.class,
        () -> GlueTask.SST2.metrics(new double[] {0.5}, new double[] {1}));
  }
}
