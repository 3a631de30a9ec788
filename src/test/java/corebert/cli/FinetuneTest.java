package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.FullTokenizer;
import corebert.data.Vocab;
import corebert.glue.Features;
import corebert.glue.GlueTask;
import corebert.util.JsonMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * bert-tiny pretrained briefly on Brown, then fine-tuned on two real labelled tasks in SST-2
 * format, SpamAssassin (spam vs ham) and Brown genres (imaginative vs informative passages): dev
 * accuracy must clearly beat always answering the majority class.
 */
class FinetuneTest {
  @TempDir Path out;

  private final BrownFixture data = BrownFixture.get();
  private final Path pretrained = data.pretrained(700, 300);

  @Test
  void spamAssassinBeatsTheMajorityClassAndTheExportAnswersAlike() throws Exception {
    Path spam = Path.of("data/sample/spam");
    // 10 epochs: at 6 one seed of three ended at 0.825, a thin margin over majority + 0.1.
    double accuracy = fineTune(spam, out.resolve("spam"), 10, "--export");

    // The exported classifier gives the fine-tuned model's dev accuracy, example for example.
    Path saved = out.resolve("spam/saved_model");
    assertTrue(Files.exists(saved.resolve("assets/vocab.txt")));
    Features dev =
        Features.of(
            GlueTask.SST2.read(spam.resolve("dev.tsv")),
            GlueTask.SST2,
            new FullTokenizer(Vocab.load(data.vocab), true),
            64);
    int correct = 0;
    try (SavedModelBundle model = SavedModelBundle.load(saved.toString(), "serve");
        TInt32 ids = input(dev, dev.ids());
        TInt32 mask = input(dev, dev.mask());
        TInt32 types = input(dev, dev.types());
        Result r =
            model
                .function("serving_default")
                .call(Map.of("input_word_ids", ids, "input_mask", mask, "input_type_ids", types))) {
      TFloat32 p = (TFloat32) r.get("probabilities").orElseThrow();
      assertEquals(Shape.of(dev.n(), 2), p.shape());
      for (int i = 0; i < dev.n(); i++) {
        assertEquals(1.0, p.getFloat(i, 0) + p.getFloat(i, 1), 1e-5);
        int predicted = p.getFloat(i, 1) > p.getFloat(i, 0) ? 1 : 0;
        correct += predicted == (int) dev.labels()[i] ? 1 : 0;
      }
    }
    assertEquals(accuracy, correct / (double) dev.n(), 1e-9, "exported vs fine-tuned accuracy");
  }

  @Test
  void brownGenreBeatsTheMajorityClass() throws Exception {
    fineTune(Path.of("data/sample/genre"), out.resolve("genre"), 6);
  }

  @Test
  void anyLabelledTsvWithThreeClasses() throws Exception {
    // A three-class task from real labels: spam, ham (SpamAssassin) and fiction (Brown genres),
    // as "id <TAB> label <TAB> text" with a header.
    Path dir = Files.createDirectories(out.resolve("tsv"));
    for (String split : List.of("train", "dev")) {
      List<String> rows = new ArrayList<>(List.of("id\tlabel\ttext"));
      for (String row :
          Files.readAllLines(Path.of("data/sample/spam/" + split + ".tsv")).subList(1, 200)) {
        String[] f = row.split("\t");
        rows.add(rows.size() + "\t" + (f[1].equals("1") ? "spam" : "ham") + "\t" + f[0]);
      }
      // The genre files are grouped by label: take the fiction rows wherever they sit.
      Files.readAllLines(Path.of("data/sample/genre/" + split + ".tsv")).stream()
          .skip(1)
          .map(r -> r.split("\t"))
          .filter(f -> f[1].equals("1"))
          .limit(150)
          .forEach(f -> rows.add(rows.size() + "\tfiction\t" + f[0]));
      Files.write(dir.resolve(split + ".tsv"), rows);
    }
    List<String> args =
        Cli.args(
            fineTuning("tsv", dir, out.resolve("tsv-out"), 4),
            "--text-column",
            "2",
            "--label-column",
            "1",
            "--header");
    Cli.Outcome tuned = Cli.run(args);
    Cli.ok(tuned);
    Map<String, Object> metrics = JsonMaps.parseObject(tuned.lastLine());
    List<String> lines = Files.readAllLines(dir.resolve("dev.tsv"));
    List<String> dev = lines.subList(1, lines.size());
    Map<String, Long> counts = new java.util.TreeMap<>();
    dev.forEach(r -> counts.merge(r.split("\t")[1], 1L, Long::sum));
    assertEquals(3, counts.size(), counts.toString());
    double majority =
        counts.values().stream().mapToLong(Long::longValue).max().orElseThrow()
            / (double) dev.size();
    double accuracy = ((Number) metrics.get("accuracy")).doubleValue();
    double macroF1 = ((Number) metrics.get("macro_f1")).doubleValue();
    System.err.printf(
        "3-class TSV dev accuracy %.3f (macro-F1 %.3f) vs majority class %.3f%n",
        accuracy, macroF1, majority);
    assertTrue(accuracy > majority + 0.1, accuracy + " vs majority " + majority);
    assertTrue(macroF1 > 0.4 && macroF1 <= 1, "macro-F1 " + macroF1);

    // A label outside --labels, and a short row: the file and line are named.
    Cli.Outcome o = Cli.run(args, "--labels", "spam,ham");
    assertEquals(CoreBert.EXIT_RUNTIME, o.code());
    assertTrue(
        o.err().contains("train.tsv:")
            && o.err().contains("label 'fiction' is not one of [spam, ham]"),
        o.err());
    Files.writeString(dir.resolve("train.tsv"), "id\tlabel\ttext\n1\tham\thello\n2\tham\n");
    o = Cli.run(args);
    assertEquals(CoreBert.EXIT_RUNTIME, o.code());
    assertTrue(o.err().contains("train.tsv:3: 2 columns, but the first row has 3"), o.err());
    o = Cli.run(data.finetune("tsv", dir, pretrained, out));
    assertEquals(CoreBert.EXIT_USAGE, o.code());
    assertTrue(o.err().contains("--task tsv needs --text-column and --label-column"), o.err());
  }

  /**
   * `finetune` of the pretrained model, {@code epochs} at lr 1e-4, batch 16, 64 tokens. At 5e-4 the
   * classifier fell back to the majority class on some seeds and CPUs (spam 0.700 against a
   * majority of 0.700 with oneDNN's AVX2 kernels, issue 19).
   */
  private List<String> fineTuning(String task, Path dataDir, Path output, int epochs) {
    return Cli.args(
        data.finetune(task, dataDir, pretrained, output),
        "--epochs",
        String.valueOf(epochs),
        "--lr",
        "1e-4",
        "--batch-size",
        "16",
        "--max-seq-length",
        "64",
        "--seed",
        BrownFixture.SEED);
  }

  /** Fine-tunes the pretrained model on an SST-2-format task; returns its dev accuracy. */
  private double fineTune(Path task, Path output, int epochs, String... extra) throws Exception {
    Map<String, Object> metrics =
        JsonMaps.parseObject(Cli.run(fineTuning("sst-2", task, output, epochs), extra).lastLine());
    List<String> dev = Files.readAllLines(task.resolve("dev.tsv"));
    long zeros = dev.stream().skip(1).filter(l -> l.endsWith("\t0")).count();
    double majority = Math.max(zeros, dev.size() - 1 - zeros) / (double) (dev.size() - 1);
    double accuracy = ((Number) metrics.get("accuracy")).doubleValue();
    System.err.printf("%s dev accuracy %.3f vs majority class %.3f%n", task, accuracy, majority);
    assertEquals(dev.size() - 1.0, ((Number) metrics.get("eval_examples")).doubleValue());
    assertTrue(accuracy > majority + 0.1, accuracy + " vs majority " + majority);
    assertTrue(Files.exists(output.resolve("eval_results.json")));
    return accuracy;
  }

  private static TInt32 input(Features f, int[] values) {
    TInt32 t = TInt32.tensorOf(Shape.of(f.n(), f.seq()));
    t.copyFrom(DataBuffers.of(values, true, false));
    return t;
  }

  @Test
  void unknownTaskListsTheKnownOnes() {
    Cli.Outcome o = Cli.run(data.finetune("squad", ".", Path.of("."), out));
    assertEquals(CoreBert.EXIT_USAGE, o.code());
    assertTrue(o.err().contains("known tasks: cola, sst-2"), o.err());
  }
}
