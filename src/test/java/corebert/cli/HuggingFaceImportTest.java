package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.export.SafeTensors;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import corebert.train.MetricsLog;
import corebert.train.RunDir;
import corebert.util.Jackson;
import corebert.util.JsonMaps;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hugging Face models in: the inverse of the export, its layouts, and what it refuses. */
class HuggingFaceImportTest {
  private final BrownFixture data = BrownFixture.get();
  private final Path pretrained = data.pretrained(30, 10);
  @TempDir Path out;

  @Test
  void exportThenImportGivesBitIdenticalVariablesAndTheSameHeldOutLoss() throws Exception {
    Path hf = exported("hf");
    Path imported = out.resolve("imported");
    Map<String, Object> result = JsonMaps.parseObject(ok(importing(hf, imported)));
    assertEquals(List.of(), result.get("fresh_variables"));
    assertEquals(
        Files.readString(data.vocab), Files.readString(imported.resolve("vocab.txt")), "vocab");
    BertConfig cfg = BertConfig.fromJsonFile(data.config);
    assertEquals(
        cfg.bertFields(),
        BertConfig.fromJsonFile(imported.resolve(RunDir.BERT_CONFIG)).bertFields());

    Map<String, float[]> before = modelVariables(cfg, Checkpoints.resolve(pretrained.toString()));
    Map<String, float[]> after = modelVariables(cfg, Checkpoints.resolve(imported.toString()));
    assertEquals(before.keySet(), after.keySet());
    for (String name : before.keySet()) {
      assertArrayEquals(before.get(name), after.get(name), name);
    }
    assertEquals(heldOutLoss(pretrained), heldOutLoss(imported));
  }

  @Test
  void continuedPretrainingFromAHuggingFaceFolderStartsFromItsWeights() throws Exception {
    Path hf = exported("hf");
    double exportedLoss = heldOutLoss(pretrained);
    Path run = out.resolve("continued");
    Cli.Outcome o =
        Cli.run(
            data.pretrain(run.toString()),
            "--init-checkpoint",
            hf.toString(),
            "--steps",
            "3",
            "--lr",
            "1e-5",
            "--warmup-steps",
            "0",
            "--log-every",
            "1");
    Cli.ok(o);
    assertTrue(o.err().contains("imported " + hf), o.err());
    Path fresh = out.resolve("fresh");
    Cli.ok(Cli.run(data.pretrain(fresh.toString()), "--steps", "1", "--log-every", "1"));
    double first = firstLoss(run);
    double freshFirst = firstLoss(fresh);
    System.err.printf(
        "first training loss: from the import %.3f, fresh %.3f; exported held-out MLM loss %.3f%n",
        first, freshFirst, exportedLoss);
    assertTrue(first < freshFirst - 1, first + " vs fresh " + freshFirst);
    // Three steps at lr 1e-5 barely move it: the run continues from the exported model.
    assertEquals(exportedLoss, heldOutLoss(run), 0.02);
  }

  @Test
  void bareBertModelLayoutAndOlderNamesImport() throws Exception {
    Path hf = exported("hf");
    Map<String, SafeTensors.Tensor> original = SafeTensors.read(hf.resolve("model.safetensors"));
    // A bare BertModel: no "bert." prefix, no heads, LayerNorm's older gamma/beta names.
    Path bare =
        variant(
            hf,
            "bare",
            w -> {
              Map<String, SafeTensors.Tensor> m = new LinkedHashMap<>();
              w.forEach(
                  (k, v) -> {
                    if (k.startsWith("bert.")) {
                      m.put(
                          k.substring(5)
                              .replace("LayerNorm.weight", "LayerNorm.gamma")
                              .replace("LayerNorm.bias", "LayerNorm.beta"),
                          v);
                    }
                  });
              return m;
            });
    Path imported = out.resolve("imported-bare");
    Cli.Outcome o = importing(bare, imported);
    Map<String, Object> result = JsonMaps.parseObject(ok(o));
    List<?> fresh = (List<?>) result.get("fresh_variables");
    assertFalse(fresh.isEmpty());
    assertTrue(fresh.stream().allMatch(n -> n.toString().startsWith("cls/")), fresh::toString);
    assertTrue(o.err().contains("they start fresh"), o.err());
    BertConfig cfg = BertConfig.fromJsonFile(data.config);
    Map<String, float[]> before = modelVariables(cfg, Checkpoints.resolve(pretrained.toString()));
    Map<String, float[]> after = modelVariables(cfg, Checkpoints.resolve(imported.toString()));
    for (String name : before.keySet()) {
      if (name.startsWith("bert/")) {
        assertArrayEquals(before.get(name), after.get(name), name);
      }
    }

    // The decoder bias under its other name.
    String bias = "cls.predictions.bias";
    Path renamed =
        variant(
            hf,
            "renamed",
            w -> {
              Map<String, SafeTensors.Tensor> m = new LinkedHashMap<>(w);
              m.put("cls.predictions.decoder.bias", m.remove(bias));
              return m;
            });
    Path importedRenamed = out.resolve("imported-renamed");
    Cli.ok(importing(renamed, importedRenamed));
    assertArrayEquals(
        original.get(bias).values(),
        modelVariables(cfg, Checkpoints.resolve(importedRenamed.toString()))
            .get("cls/predictions/output_bias"));
  }

  @Test
  void modelsThatAreNotBertAreRefusedNamingTheKeyAndNothingIsWritten() throws Exception {
    Path hf = exported("hf");
    String query = "bert.encoder.layer.1.attention.self.query.weight";
    record Case(String name, Path dir, String message) {}
    Path roberta = copy(hf, "roberta");
    Map<String, Object> config =
        new LinkedHashMap<>(JsonMaps.parseObject(Files.readString(hf.resolve("config.json"))));
    config.put("model_type", "roberta");
    config.put("type_vocab_size", 1);
    Files.writeString(roberta.resolve("config.json"), Jackson.writePretty(config));
    Path torchOnly = copy(hf, "torch-only");
    Files.move(torchOnly.resolve("model.safetensors"), torchOnly.resolve("pytorch_model.bin"));
    Path truncated = copy(hf, "truncated");
    byte[] bytes = Files.readAllBytes(truncated.resolve("model.safetensors"));
    Files.write(truncated.resolve("model.safetensors"), Arrays.copyOf(bytes, bytes.length / 2));
    List<Case> cases =
        List.of(
            new Case("roberta", roberta, "model_type is 'roberta'"),
            new Case(
                "missing key",
                variant(
                    hf,
                    "missing",
                    w -> {
                      Map<String, SafeTensors.Tensor> m = new LinkedHashMap<>(w);
                      m.remove(query);
                      return m;
                    }),
                "has no " + query),
            new Case(
                "wrong shape",
                variant(
                    hf,
                    "shape",
                    w -> {
                      Map<String, SafeTensors.Tensor> m = new LinkedHashMap<>(w);
                      float[] v = m.get(query).values();
                      m.put(
                          query,
                          new SafeTensors.Tensor(
                              new long[] {v.length / 64, 64}, Arrays.copyOf(v, v.length)));
                      return m;
                    }),
                query + " has shape"),
            new Case("pytorch_model.bin only", torchOnly, "safe_serialization=True"),
            new Case("truncated safetensors", truncated, "does not hold its shape"));
    for (Case c : cases) {
      Path target = out.resolve("refused-" + c.name().replace(' ', '-'));
      Cli.Outcome o = importing(c.dir(), target);
      assertEquals(CoreBert.EXIT_RUNTIME, o.code(), c.name() + ": " + o.err());
      assertTrue(o.err().contains(c.message()), c.name() + ": " + o.err());
      assertFalse(Files.exists(target), c.name() + ": nothing written");
    }
  }

  private Path exported(String name) {
    Path hf = out.resolve(name);
    Cli.ok(
        Cli.run(
            "export",
            "--config",
            data.config.toString(),
            "--checkpoint",
            pretrained.toString(),
            "--vocab",
            data.vocab.toString(),
            "--output",
            hf.toString(),
            "--format",
            "huggingface"));
    return hf;
  }

  /** A successful command's result line. */
  private static String ok(Cli.Outcome o) {
    Cli.ok(o);
    return o.lastLine();
  }

  private static Cli.Outcome importing(Path hf, Path output) {
    return Cli.run(
        "import",
        "--format",
        "huggingface",
        "--input",
        hf.toString(),
        "--output-dir",
        output.toString());
  }

  /** A copy of {@code hf} whose weights are {@code change} of the original ones. */
  private Path variant(Path hf, String name, UnaryOperator<Map<String, SafeTensors.Tensor>> change)
      throws IOException {
    Path dir = copy(hf, name);
    Map<String, SafeTensors.Tensor> w = SafeTensors.read(hf.resolve("model.safetensors"));
    SafeTensors.write(dir.resolve("model.safetensors"), change.apply(w), Map.of("format", "pt"));
    return dir;
  }

  private Path copy(Path hf, String name) throws IOException {
    Path dir = out.resolve("variant-" + name);
    Files.createDirectories(dir);
    try (var files = Files.list(hf)) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    return dir;
  }

  private static Map<String, float[]> modelVariables(BertConfig cfg, Path checkpoint) {
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.FULL)) {
      g.restore(checkpoint.toString());
      return g.readFloats(g.modelNames());
    }
  }

  private double heldOutLoss(Path checkpoint) {
    Cli.Outcome o = Cli.run(data.evaluate(checkpoint));
    Cli.ok(o);
    return ((Number) JsonMaps.parseObject(o.lastLine()).get("mlm_loss")).doubleValue();
  }

  private static double firstLoss(Path run) {
    return MetricsLog.read(run.resolve(RunDir.METRICS)).get(0).loss();
  }
}
