package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.run.CorpusRun;
import corebert.train.Checkpoints;
import corebert.train.RunDir;
import corebert.util.JsonMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `corebert run` end to end on raw text in each new format: every stage's output, a run killed with
 * SIGKILL in two different stages that ends where an uninterrupted one ends, refusal of changed
 * settings or corpus, and continued pretraining from the run's own Hugging Face export.
 */
class RunTest {
  @TempDir Path tmp;

  /** Small and fast; dropout off so that a resumed run can equal an uninterrupted one. */
  private List<String> args(Path config, List<String> corpus) {
    return Cli.args(
        Cli.args(List.of("run"), corpus.toArray(String[]::new)),
        "--config",
        config.toString(),
        "--steps",
        "32",
        "--vocab-size",
        "800",
        "--seq-length",
        "64",
        "--max-predictions",
        "10",
        "--dupe-factor",
        "4",
        "--batch-size",
        "16",
        "--heldout",
        "0.1",
        "--threads",
        "2");
  }

  private static Map<String, Object> report(Path dir) throws Exception {
    return JsonMaps.parseObject(Files.readString(dir.resolve(CorpusRun.REPORT)));
  }

  private static double num(Map<String, Object> m, String key) {
    return ((Number) m.get(key)).doubleValue();
  }

  @Test
  void runsFromJsonLinesAndFromDocumentsAndSurvivesSigkillInTwoStages() throws Exception {
    BrownFixture.Documents docs = BrownFixture.documents(tmp, 60);
    Path config = BrownFixture.get().noDropout(tmp);
    for (List<String> corpus :
        List.of(
            List.of("--text", docs.jsonl().toString()),
            List.of("--text", docs.folder() + "/*.txt", "--input-format", "documents"))) {
      List<String> args = args(config, corpus);
      Path straight = tmp.resolve("straight-" + corpus.size());
      Cli.ok(Cli.run(args, "--output-dir", straight.toString()));
      Map<String, Object> want = report(straight);
      // Every stage's output, and the held-out split by whole documents (10% of the sample's 60).
      for (String out :
          List.of(
              "run.json",
              "text/train.txt",
              "text/heldout.txt",
              "vocab.txt",
              "data/train",
              "data/heldout",
              RunDir.BERT_CONFIG,
              "training.json",
              "curve.json",
              CorpusRun.SAVED_MODEL + "/saved_model.pb",
              CorpusRun.HUGGING_FACE + "/model.safetensors",
              CorpusRun.REPORT_PNG)) {
        assertTrue(Files.exists(straight.resolve(out)), corpus + ": no " + out);
      }
      String heldOut = Files.readString(straight.resolve("text/heldout.txt"));
      assertEquals(6, heldOut.split("\n\n").length, "held-out documents of " + docs.count());
      assertEquals(800, Files.readAllLines(straight.resolve("vocab.txt")).size());
      assertEquals(32L, ((Number) want.get("final_step")).longValue());
      // Phase 2 learns: its final masked loss is below the converted model's.
      double after = num(castMap(want.get("after_surgery")), "mlm_loss_masked");
      assertTrue(num(want, "final_mlm_loss_masked") < after, corpus + ": " + want);

      Path killed = tmp.resolve("killed-" + corpus.size());
      List<String> command = Cli.args(args, "--output-dir", killed.toString());
      // SIGKILL while the training records are being written...
      Path dataTmp = killed.resolve("data/.train.tmp");
      Process p = Cli.start(tmp.resolve("log-data.txt"), command);
      Cli.waitFor(() -> Files.exists(dataTmp), p, 120_000);
      p.destroyForcibly().waitFor();
      assertFalse(Files.exists(killed.resolve("data/train")), "killed after the data stage");
      // ...and while phase 1 trains.
      p = Cli.start(tmp.resolve("log-train.txt"), command);
      Path relaxed = killed.resolve(CorpusRun.TRAINING).resolve(RunDir.CORE_RELAXED);
      Cli.waitFor(() -> Checkpoints.latest(relaxed).isPresent(), p, 120_000);
      p.destroyForcibly().waitFor();
      assertFalse(Files.exists(killed.resolve("training.json")), "killed after training");
      Cli.ok(Cli.run(command.toArray(String[]::new)));
      Map<String, Object> got = report(killed);
      for (String key : List.of("final_mlm_loss_masked", "final_mlm_loss")) {
        assertEquals(num(want, key), num(got, key), 1e-6, corpus + " " + key);
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Object o) {
    return (Map<String, Object>) o;
  }

  @Test
  void refusesOtherSettingsOrAChangedCorpusAndContinuesFromItsOwnExport() throws Exception {
    BrownFixture.Documents docs = BrownFixture.documents(tmp, 60);
    Path config = BrownFixture.get().noDropout(tmp);
    List<String> args = args(config, List.of("--text", docs.jsonl().toString()));
    Path dir = tmp.resolve("run");
    Cli.ok(Cli.run(args, "--output-dir", dir.toString()));
    String reportBefore = Files.readString(dir.resolve(CorpusRun.REPORT));
    // A rerun of a finished run redoes nothing.
    Cli.ok(Cli.run(args, "--output-dir", dir.toString()));
    assertEquals(reportBefore, Files.readString(dir.resolve(CorpusRun.REPORT)));

    Cli.Outcome other =
        Cli.run(Cli.args(args, "--output-dir", dir.toString()), "--relaxed-lr", "5e-4");
    assertNotEquals(0, other.code());
    assertTrue(other.err().contains("relaxed_learning_rate was 0.001, now 5.0E-4"), other.err());

    // Continued pretraining from the run's Hugging Face export starts at its held-out loss.
    Map<String, Object> source = report(dir);
    Path continued = tmp.resolve("continued");
    Cli.ok(
        Cli.run(
            Cli.args(args, "--output-dir", continued.toString()),
            "--init-checkpoint",
            dir.resolve(CorpusRun.HUGGING_FACE).toString(),
            "--full-lr",
            "1e-6"));
    Map<String, Object> first = castMap(((List<?>) report(continued).get("curve")).get(0));
    assertEquals(
        num(source, "final_mlm_loss_masked"),
        num(first, "mlm_loss_masked"),
        0.01,
        "continued run's first point vs the exported model");
    assertEquals(
        Files.readString(dir.resolve("vocab.txt")),
        Files.readString(continued.resolve("vocab.txt")),
        "the model's own vocab");

    Files.writeString(docs.jsonl(), "\n", StandardOpenOption.APPEND);
    Cli.Outcome changed = Cli.run(Cli.args(args, "--output-dir", dir.toString()));
    assertNotEquals(0, changed.code());
    assertTrue(changed.err().contains("Changed: corpus was"), changed.err());
  }
}
