package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.export.SafeTensors;
import corebert.util.Jackson;
import corebert.util.JsonMaps;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The Hugging Face export, checked from outside the JVM: a numpy-only forward pass
 * (src/test/python/bert_reference.py) reads the exported safetensors by the format's spec, runs
 * BERT with transformers' layouts, and must give our SavedModel's outputs to 1e-4.
 */
class HuggingFaceExportTest {
  private static final double TOLERANCE = 1e-4;
  // Three sequences of six tokens: padding, and a segment B in the first.
  private static final int[][] IDS = {
    {2, 10, 11, 3, 12, 3}, {2, 40, 41, 42, 3, 0}, {2, 7, 3, 0, 0, 0}
  };
  private static final int[][] MASK = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0}, {1, 1, 1, 0, 0, 0}};
  private static final int[][] TYPES = {{0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}};

  private final BrownFixture data = BrownFixture.get();
  private final Path pretrained = data.pretrained(30, 10);
  @TempDir Path out;

  @Test
  void pretrainingExportMatchesTheSavedModelOutsideTheJvm() throws Exception {
    Path saved = out.resolve("saved");
    Path hf = out.resolve("hf");
    Cli.ok(export(pretrained, saved, "savedmodel"));
    Cli.ok(export(pretrained, hf, "huggingface"));

    for (String f :
        List.of(
            "config.json",
            "model.safetensors",
            "vocab.txt",
            "tokenizer_config.json",
            "special_tokens_map.json")) {
      assertTrue(Files.exists(hf.resolve(f)), f);
    }
    Map<String, Object> config = JsonMaps.parseObject(Files.readString(hf.resolve("config.json")));
    assertEquals("bert", config.get("model_type"));
    assertEquals(List.of("BertForPreTraining"), config.get("architectures"));
    assertEquals(
        true,
        JsonMaps.parseObject(Files.readString(hf.resolve("tokenizer_config.json")))
            .get("do_lower_case"));
    Map<String, SafeTensors.Tensor> w = SafeTensors.read(hf.resolve("model.safetensors"));
    // Dense kernels are [out, in]; the MLM decoder is tied to the word embeddings, so not stored.
    assertArrayEquals(
        new long[] {512, 128}, w.get("bert.encoder.layer.1.intermediate.dense.weight").shape());
    assertArrayEquals(new long[] {2, 128}, w.get("cls.seq_relationship.weight").shape());
    assertArrayEquals(new long[] {BrownFixture.VOCAB_SIZE}, w.get("cls.predictions.bias").shape());
    assertTrue(w.containsKey("cls.predictions.transform.LayerNorm.weight"));
    assertFalse(w.containsKey("cls.predictions.decoder.weight"));

    Map<String, Object> reference = reference(hf);
    try (SavedModelBundle model = SavedModelBundle.load(saved.toString(), "serve");
        Result r = call(model)) {
      assertClose(
          (TFloat32) r.get("sequence_output").orElseThrow(), reference.get("sequence_output"));
      assertClose((TFloat32) r.get("pooled_output").orElseThrow(), reference.get("pooled_output"));
    }
  }

  @Test
  void classifierExportGivesTheSavedModelsLogits() throws Exception {
    Path tuned = out.resolve("spam");
    Cli.ok(
        Cli.run(
            data.finetune("sst-2", "data/sample/spam", pretrained, tuned),
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--max-seq-length",
            "32",
            "--export",
            "--format",
            "savedmodel,huggingface"));
    Path hf = tuned.resolve("huggingface");
    Map<String, Object> config = JsonMaps.parseObject(Files.readString(hf.resolve("config.json")));
    assertEquals(List.of("BertForSequenceClassification"), config.get("architectures"));
    assertEquals(2L, config.get("num_labels"));
    assertEquals(Map.of("0", "0", "1", "1"), config.get("id2label"));
    Map<String, SafeTensors.Tensor> w = SafeTensors.read(hf.resolve("model.safetensors"));
    assertArrayEquals(new long[] {2, 128}, w.get("classifier.weight").shape());
    assertFalse(w.keySet().stream().anyMatch(k -> k.startsWith("cls.")), "no pretraining heads");

    Map<String, Object> reference = reference(hf);
    try (SavedModelBundle model =
            SavedModelBundle.load(tuned.resolve("saved_model").toString(), "serve");
        Result r = call(model)) {
      assertClose((TFloat32) r.get("logits").orElseThrow(), reference.get("logits"));
    }
  }

  @Test
  void badExportsAreRefusedAndLeaveNothing() throws Exception {
    Path relaxed = out.resolve("relaxed");
    Cli.ok(Cli.run(data.pretrainRelaxed(relaxed), "--steps", "2"));
    Path busy = Files.createDirectories(out.resolve("busy"));
    Files.writeString(busy.resolve("keep.txt"), "mine");
    for (String format : List.of("savedmodel", "huggingface")) {
      // Into a folder that holds files.
      Cli.Outcome o = export(pretrained, busy, format);
      assertEquals(CoreBert.EXIT_RUNTIME, o.code());
      assertTrue(o.err().contains("is not empty"), o.err());
      assertEquals(List.of("keep.txt"), list(busy));

      // A relaxed checkpoint.
      o = export(relaxed, out.resolve("from-relaxed"), format);
      assertEquals(CoreBert.EXIT_RUNTIME, o.code());
      assertTrue(o.err().contains("relaxed checkpoint must be converted first"), o.err());
      assertEquals(List.of("busy", "relaxed"), list(out), "nothing written for " + format);
    }

    // An unknown format.
    assertEquals(CoreBert.EXIT_USAGE, export(pretrained, out.resolve("x"), "onnx").code());
  }

  private Cli.Outcome export(Path checkpoint, Path output, String format) {
    return Cli.run(
        "export",
        "--config",
        data.config.toString(),
        "--checkpoint",
        checkpoint.toString(),
        "--vocab",
        data.vocab.toString(),
        "--output",
        output.toString(),
        "--format",
        format);
  }

  private static Result call(SavedModelBundle model) {
    try (TInt32 ids = TInt32.tensorOf(StdArrays.ndCopyOf(IDS));
        TInt32 mask = TInt32.tensorOf(StdArrays.ndCopyOf(MASK));
        TInt32 types = TInt32.tensorOf(StdArrays.ndCopyOf(TYPES))) {
      return model
          .function("serving_default")
          .call(Map.of("input_word_ids", ids, "input_mask", mask, "input_type_ids", types));
    }
  }

  /** Runs the numpy reference on an exported directory. */
  private static Map<String, Object> reference(Path modelDir) throws Exception {
    Map<String, Object> inputs =
        Map.of("input_ids", rows(IDS), "attention_mask", rows(MASK), "token_type_ids", rows(TYPES));
    Process p =
        new ProcessBuilder(numpyPython(), "src/test/python/bert_reference.py", modelDir.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    p.getOutputStream().write(Jackson.write(inputs).getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), "bert_reference.py failed");
    return JsonMaps.parseObject(stdout);
  }

  /**
   * A Python 3 that has numpy: CI installs Debian's python3-numpy (.ci/run), which the system
   * python3 sees; a python3 earlier on the PATH may lack it.
   */
  private static String numpyPython() throws Exception {
    for (String python : List.of("python3", "/usr/bin/python3")) {
      try {
        Process p = new ProcessBuilder(python, "-c", "import numpy").start();
        if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
          return python;
        }
      } catch (IOException notThere) {
        // try the next one
      }
    }
    throw new AssertionError(
        "this test needs a python3 with numpy (apt-get install python3-numpy; .ci/run installs it)");
  }

  private static List<List<Integer>> rows(int[][] m) {
    return java.util.Arrays.stream(m)
        .map(r -> java.util.Arrays.stream(r).boxed().toList())
        .toList();
  }

  /** Every value of a float tensor against the reference's nested lists, to 1e-4. */
  private static void assertClose(TFloat32 actual, Object expected) {
    double[] want = flatten(expected).stream().mapToDouble(Double::doubleValue).toArray();
    assertEquals(actual.shape().size(), want.length, "values in " + actual.shape());
    float[] got = new float[want.length];
    actual.copyTo(org.tensorflow.ndarray.buffer.DataBuffers.of(got, false, false));
    double max = 0;
    for (int i = 0; i < got.length; i++) {
      max = Math.max(max, Math.abs(got[i] - want[i]));
    }
    assertTrue(max <= TOLERANCE, "SavedModel and numpy reference differ by " + max);
  }

  private static List<Double> flatten(Object nested) {
    if (nested instanceof Number n) {
      return List.of(n.doubleValue());
    }
    return ((List<?>) nested).stream().flatMap(x -> flatten(x).stream()).toList();
  }

  private static List<String> list(Path dir) throws IOException {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
