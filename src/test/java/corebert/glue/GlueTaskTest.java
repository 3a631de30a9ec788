package corebert.glue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GlueTaskTest {
  @TempDir Path dir;

  private Path write(String name, String... lines) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    return file;
  }

  private static GlueExample ex(String a, String b, String label) {
    return new GlueExample(a, b, label);
  }

  @Test
  void colaHasNoHeaderAndKeepsQuotesVerbatim() throws IOException {
    Path file =
        write(
            "train.tsv",
            "gj04\t1\t\tOur friends won't buy this analysis, let alone the next one we propose.",
            "gj04\t0\t*\tThey drank the pub \"dry.",
            "",
            "clc95\t1\t\tHe said \"that's it\".");
    assertEquals(
        List.of(
            ex(
                "Our friends won't buy this analysis, let alone the next one we propose.",
                null,
                "1"),
            ex("They drank the pub \"dry.", null, "0"),
            ex("He said \"that's it\".", null, "1")),
        GlueTask.COLA.read(file));
  }

  @Test
  void sst2() throws IOException {
    Path file =
        write(
            "train.tsv",
            "sentence\tlabel",
            "hide new secretions from the parental units \t0",
            "the greatest musicians \t1");
    assertEquals(
        List.of(
            ex("hide new secretions from the parental units ", null, "0"),
            ex("the greatest musicians ", null, "1")),
        GlueTask.SST2.read(file));
  }

  @Test
  void mrpc() throws IOException {
    Path file =
        write(
            "dev.tsv",
            "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
            "1\t1355540\t1355592\tHe said the foodservice pie business doesn't fit."
                + "\tThe foodservice pie business does not fit our long-term growth strategy.",
            "0\t2029631\t2029565\tMagnarelli said Racicot hated the Iraqi regime."
                + "\tHis wife said he was \"100 percent behind George Bush\".");
    assertEquals(
        List.of(
            ex(
                "He said the foodservice pie business doesn't fit.",
                "The foodservice pie business does not fit our long-term growth strategy.",
                "1"),
            ex(
                "Magnarelli said Racicot hated the Iraqi regime.",
                "His wife said he was \"100 percent behind George Bush\".",
                "0")),
        GlueTask.MRPC.read(file));
  }

  @Test
  void stsb() throws IOException {
    Path file =
        write(
            "train.tsv",
            "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2"
                + "\tscore",
            "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off."
                + "\tAn air plane is taking off.\t5.000",
            "1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\tA man is playing a flute."
                + "\tA man is playing a bamboo flute.\t3.800");
    assertEquals(
        List.of(
            ex("A plane is taking off.", "An air plane is taking off.", "5.000"),
            ex("A man is playing a flute.", "A man is playing a bamboo flute.", "3.800")),
        GlueTask.STSB.read(file));
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
  void qqp() throws IOException {
    Path file =
        write(
            "train.tsv",
            "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
            "133273\t213221\t213222\tHow is the life of a math student?"
                + "\tWhich level of prepration is enough for the exam jlpt5?\t0",
            "402555\t536040\t536041\tHow do I control my horny emotions?"
                + "\tHow do you control your horniness?\t1");
    assertEquals(
        List.of(
            ex(
                "How is the life of a math student?",
                "Which level of prepration is enough for the exam jlpt5?",
                "0"),
            ex("How do I control my horny emotions?", "How do you control your horniness?", "1")),
        GlueTask.QQP.read(file));
  }

  @Test
  void mnliTrainAndDevTakeTheLastColumnAsGold() throws IOException {
    Path train =
        write(
            "train.tsv",
            "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse"
                + "\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label",
            "0\t31193\t31193n\tgovernment\t( ( Conceptually cream ) skimming )\t( ( Product ) )"
                + "\t(ROOT (S))\t(ROOT (S))\tConceptually cream skimming has two basic dimensions."
                + "\tProduct and geography are what make cream skimming work. \tneutral\tneutral");
    Path dev =
        write(
            "dev_matched.tsv",
            "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse"
                + "\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2"
                + "\tlabel3\tlabel4\tlabel5\tgold_label",
            "0\t63735\t63735n\tslate\t( The ( new rights ) )\t( Everyone ( really likes ) )"
                + "\t(ROOT (S))\t(ROOT (S))\tThe new rights are nice enough"
                + "\tEveryone really likes the newest benefits \tneutral\tentailment\tneutral"
                + "\tneutral\tneutral\tneutral",
            "1\t91383\t91383c\tgovernment\t( This site )\t( The ( Government Executive ) )"
                + "\t(ROOT (S))\t(ROOT (S))\tThis site includes a list of all award winners."
                + "\tThe Government Executive articles are not on the website.\tcontradiction"
                + "\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction");
    assertEquals(
        List.of(
            ex(
                "Conceptually cream skimming has two basic dimensions.",
                "Product and geography are what make cream skimming work. ",
                "neutral")),
        GlueTask.MNLI.read(train));
    assertEquals(
        List.of(
            ex(
                "The new rights are nice enough",
                "Everyone really likes the newest benefits ",
                "neutral"),
            ex(
                "This site includes a list of all award winners.",
                "The Government Executive articles are not on the website.",
                "contradiction")),
        GlueTask.MNLI.read(dev));
  }

  @Test
  void qnli() throws IOException {
    Path file =
        write(
            "dev.tsv",
            "index\tquestion\tsentence\tlabel",
            "0\tWhat came into force after the new constitution was herald?"
                + "\tAs of that day, the new constitution heralding the Second Republic came into"
                + " force.\tentailment",
            "1\tWhat is the first major city in the stream of the Rhine?"
                + "\tThe most important tributaries in this area are the Ill below of Strasbourg."
                + "\tnot_entailment");
    assertEquals(
        List.of(
            ex(
                "What came into force after the new constitution was herald?",
                "As of that day, the new constitution heralding the Second Republic came into"
                    + " force.",
                "entailment"),
            ex(
                "What is the first major city in the stream of the Rhine?",
                "The most important tributaries in this area are the Ill below of Strasbourg.",
                "not_entailment")),
        GlueTask.QNLI.read(file));
  }

  @Test
  void rte() throws IOException {
    Path file =
        write(
            "train.tsv",
            "index\tsentence1\tsentence2\tlabel",
            "0\tNo Weapons of Mass Destruction Found in Iraq Yet."
                + "\tWeapons of Mass Destruction Found in Iraq.\tnot_entailment",
            "1\tA place of sorrow, after Pope John Paul II died, became a place of celebration."
                + "\tPope Benedict XVI is the new leader of the Roman Catholic Church."
                + "\tentailment");
    assertEquals(
        List.of(
            ex(
                "No Weapons of Mass Destruction Found in Iraq Yet.",
                "Weapons of Mass Destruction Found in Iraq.",
                "not_entailment"),
            ex(
                "A place of sorrow, after Pope John Paul II died, became a place of celebration.",
                "Pope Benedict XVI is the new leader of the Roman Catholic Church.",
                "entailment")),
        GlueTask.RTE.read(file));
  }

  @Test
  void wnli() throws IOException {
    Path file =
        write(
            "dev.tsv",
            "index\tsentence1\tsentence2\tlabel",
            "0\tThe drain is clogged with hair. It has to be cleaned."
                + "\tThe hair has to be cleaned.\t0",
            "1\tJane knocked on Susan's door but she did not answer."
                + "\tSusan did not answer.\t1");
    assertEquals(
        List.of(
            ex(
                "The drain is clogged with hair. It has to be cleaned.",
                "The hair has to be cleaned.",
                "0"),
            ex(
                "Jane knocked on Susan's door but she did not answer.",
                "Susan did not answer.",
                "1")),
        GlueTask.WNLI.read(file));
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
