package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.surgery.Surgery;
import corebert.train.CheckpointGraph;
import corebert.train.MetricsLog;
import corebert.train.RunDir;
import corebert.util.JsonMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CoRe on real Brown text with bert-tiny: surgery keeps what phase 1 learned; core resumes. */
class CoreTest {
  @TempDir Path out;
  private final BrownFixture data = BrownFixture.get();

  @Test
  void convertedModelStartsFarBelowAFreshFullBert() throws Exception {
    Path relaxed = out.resolve("relaxed");
    Cli.ok(
        Cli.run(
            data.pretrainRelaxed(relaxed),
            "--steps",
            "300",
            "--lr",
            "1e-3",
            "--warmup-steps",
            "100",
            "--log-every",
            "100",
            "--seed",
            BrownFixture.SEED));
    Map<String, Object> conversion =
        JsonMaps.parseObject(
            Cli.run(
                    "convert",
                    "--config",
                    data.config.toString(),
                    "--relaxed-checkpoint",
                    relaxed.toString(),
                    "--output-dir",
                    out.resolve("converted").toString())
                .lastLine());
    assertEquals(300L, ((Number) conversion.get("step")).longValue());
    assertTrue(
        ((Number) conversion.get("max_ffn_output_diff")).doubleValue() < 1e-5,
        conversion::toString);

    Path fresh = out.resolve("fresh");
    try (CheckpointGraph g =
        CheckpointGraph.build(BertConfig.fromJsonFile(data.config), Variant.FULL)) {
      g.save(fresh, 0);
    }
    double relaxedLoss = heldOutLoss(relaxed, "relaxed");
    double convertedLoss = heldOutLoss(out.resolve("converted"), "full");
    double freshLoss = heldOutLoss(fresh, "full");
    System.err.printf(
        "held-out MLM loss: relaxed %.3f, converted full %.3f, fresh full %.3f%n",
        relaxedLoss, convertedLoss, freshLoss);
    assertTrue(convertedLoss < freshLoss - 1.0, convertedLoss + " vs fresh " + freshLoss);
    // Attention switches from linear to softmax; the rest is exact, so the jump stays small.
    assertTrue(Math.abs(convertedLoss - relaxedLoss) < 0.5, convertedLoss + " vs " + relaxedLoss);
  }

  @Test
  void coreRunsBothPhasesOnOneAxisAndResumesWithoutRedoingWork() throws Exception {
    List<String> args =
        Cli.args(
            data.onTrainingShards("core"),
            "--output-dir",
            out.toString(),
            "--relaxed-steps",
            "20",
            "--log-every",
            "5",
            "--save-every",
            "10",
            "--eval-input",
            data.evalGlob());
    Map<String, Object> first =
        JsonMaps.parseObject(Cli.run(args, "--full-steps", "15").lastLine());
    assertEquals(35L, ((Number) first.get("step")).longValue());
    assertEquals(20L, ((Number) first.get("surgery_step")).longValue());
    // The switch's cost on the held-out loss with every scored token masked, from the run's own
    // evaluations right before and right after surgery; the unigram reference is the training
    // records'.
    Map<?, ?> before = (Map<?, ?>) first.get("relaxed_eval");
    Map<?, ?> after = (Map<?, ?>) first.get("converted_eval");
    assertEquals(
        ((Number) after.get("mlm_loss_masked")).doubleValue()
            - ((Number) before.get("mlm_loss_masked")).doubleValue(),
        ((Number) first.get("switch_jump")).doubleValue(),
        1e-12);
    assertEquals("training records", before.get("unigram_of"));

    // A rerun with a longer phase 2 continues it: no relaxed step, no second surgery.
    Cli.Outcome second = Cli.run(args, "--full-steps", "25");
    Map<String, Object> resumed = JsonMaps.parseObject(second.lastLine());
    assertEquals(45L, ((Number) resumed.get("step")).longValue());
    assertTrue(second.err().contains("surgery already done"), second.err());
    assertTrue(!resumed.containsKey("surgery_sec"), "no second surgery");
    assertEquals(20L, ((Number) resumed.get("surgery_step")).longValue(), "from surgery.json");

    // Every logged step once, on one axis: log-every 5, saves every 10, and each run's first step.
    List<MetricsLog.Entry> log = MetricsLog.read(out.resolve(RunDir.METRICS));
    assertEquals(
        List.of(1L, 5L, 10L, 15L, 20L, 21L, 25L, 30L, 35L, 36L, 40L, 45L),
        log.stream().map(MetricsLog.Entry::step).toList());
    double elapsed = 0;
    for (MetricsLog.Entry rec : log) {
      assertEquals(rec.step() <= 20 ? "relaxed" : "full", rec.phase());
      assertTrue(rec.elapsedSec() >= elapsed, "elapsed time runs on across phases");
      elapsed = rec.elapsedSec();
    }

    // The run's directory stands for its newest full checkpoint wherever a checkpoint is asked for.
    Cli.Outcome viaDir = Cli.run(data.evaluate(out));
    assertTrue(viaDir.err().contains("is a CoRe run: using its full BERT"), viaDir.err());
    assertTrue(viaDir.err().contains("model.ckpt-45"), viaDir.err());
    assertEquals(
        heldOutLoss(out.resolve("full"), "full"),
        ((Number) JsonMaps.parseObject(viaDir.lastLine()).get("mlm_loss")).doubleValue());

    // A surgery cut short leaves full/ without surgery.json: the rerun converts again.
    Files.delete(out.resolve("full").resolve(RunDir.SURGERY_REPORT));
    Cli.Outcome redone = Cli.run(args, "--full-steps", "25");
    assertTrue(redone.err().contains("holds an unfinished surgery; redoing it"), redone.err());
    Map<String, Object> again = JsonMaps.parseObject(redone.lastLine());
    assertTrue(again.containsKey("surgery_sec"), "surgery ran again");
    assertEquals(45L, ((Number) again.get("step")).longValue());
  }

  @Test
  void switchLeversRunThroughCore() {
    List<String> common =
        Cli.args(
            data.onTrainingShards("core"),
            "--relaxed-steps",
            "20",
            "--full-steps",
            "12",
            "--log-every",
            "5",
            "--eval-input",
            data.evalGlob());
    // A blended start begins where the relaxed model ended: its measured jump is rounding only.
    Map<String, Object> blended =
        JsonMaps.parseObject(
            Cli.run(common, "--output-dir", out.resolve("blend").toString(), "--blend-steps", "8")
                .lastLine());
    assertEquals(32L, ((Number) blended.get("step")).longValue());
    double jump = ((Number) blended.get("switch_jump")).doubleValue();
    assertTrue(Math.abs(jump) < 1e-3, "blended switch jump " + jump);
    Map<?, ?> softmax = (Map<?, ?>) blended.get("converted_softmax_eval");
    Map<?, ?> relaxed = (Map<?, ?>) blended.get("relaxed_eval");
    double softmaxJump =
        ((Number) softmax.get("mlm_loss_masked")).doubleValue()
            - ((Number) relaxed.get("mlm_loss_masked")).doubleValue();
    assertTrue(Math.abs(softmaxJump) > 10 * Math.abs(jump), "softmax at once: " + softmaxJump);

    // A fitted temperature per layer, in the summary and in surgery's report.
    Path tauDir = out.resolve("tau");
    Map<String, Object> fitted =
        JsonMaps.parseObject(
            Cli.run(common, "--output-dir", tauDir.toString(), "--fit-temperature").lastLine());
    List<?> tau = (List<?>) fitted.get("temperature_per_layer");
    assertEquals(2, tau.size(), "one per layer: " + tau);
    assertEquals(
        tau.stream().map(t -> ((Number) t).doubleValue()).toList(),
        Surgery.readReport(tauDir.resolve(RunDir.CORE_FULL)).temperatures());

    Cli.Outcome both =
        Cli.run(
            common,
            "--output-dir",
            out.resolve("both").toString(),
            "--fit-temperature",
            "--blend-steps",
            "8");
    assertEquals(2, both.code(), both.err());
    assertTrue(both.err().contains("choose one"), both.err());
  }

  private double heldOutLoss(Path checkpoint, String model) {
    return ((Number)
            JsonMaps.parseObject(Cli.run(data.evaluate(checkpoint, "--model", model)).lastLine())
                .get("mlm_loss"))
        .doubleValue();
  }
}
