package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataCommandsTest {
  private static final String TEXT =
"""
The jury said it did find that many of Georgia's registration and election laws are outmoded .
It recommended that Fulton legislators act to have these laws studied and revised .
The grand jury commented on a number of other topics .

The Senate passed a bill to let the state pay for new roads .
Some senators said the bill would cost too much .
Others said the roads were badly needed in rural counties .
""";

  @TempDir Path dir;

  @Test
  void createThenInspect() throws Exception {
    Path text = Files.createDirectories(dir.resolve("text"));
    Files.writeString(text.resolve("a.txt"), TEXT);
    Files.writeString(text.resolve("b.txt"), TEXT.replace("jury", "panel"));
    List<String> vocab = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"));
    for (String word : (TEXT + " panel").toLowerCase(Locale.ROOT).split("[^a-z]+")) {
      if (!word.isEmpty() && !vocab.contains(word)) {
        vocab.add(word);
      }
    }
    vocab.addAll(List.of("'", "."));
    Files.write(dir.resolve("vocab.txt"), vocab);
    Path out = dir.resolve("out");

    String created =
        Cli.ok(
            Cli.run(
                "create-data",
                "--input",
                text + "/*.txt",
                "--vocab",
                dir.resolve("vocab.txt").toString(),
                "--output",
                out.toString(),
                "--max-seq-length",
                "32",
                "--max-predictions",
                "5",
                "--shards",
                "3",
                "--threads",
                "2",
                "--dupe-factor",
                "2"));
    String[] lines = created.strip().split("\n");
    String json = lines[lines.length - 1];
    assertTrue(json.startsWith("{\"documents\":4,\"instances\":"), json);
    assertTrue(json.contains("part-00002-of-00003.tfrecord\"]}"), json);
    try (Stream<Path> files = Files.list(out)) {
      assertEquals(3, files.filter(p -> p.toString().endsWith(".tfrecord")).count());
    }

    String inspected =
        Cli.ok(
            Cli.run(
                "inspect-data",
                "--input",
                out + "/*.tfrecord",
                "--limit",
                "1",
                "--vocab",
                dir.resolve("vocab.txt").toString()));
    assertTrue(inspected.startsWith("example 0 ("), inspected);
    assertTrue(inspected.contains("tokens: [CLS] "), inspected);
    assertTrue(
        inspected.strip().endsWith(",\"max_seq_length\":32,\"max_predictions_per_seq\":5}"),
        inspected);
  }

  @Test
  void vocabAndCreateDataReadDocumentsAndGzippedJsonLines() throws Exception {
    BrownFixture.Documents corpus = BrownFixture.documents(dir, 40);
    Path gz = corpus.jsonl();
    Path docs = corpus.folder();
    Path vocab = dir.resolve("vocab.txt");
    Cli.ok(
        Cli.run("vocab", "--input", gz.toString(), "--output", vocab.toString(), "--size", "800"));
    assertEquals(800, Files.readAllLines(vocab).size());
    for (List<String> input :
        List.of(
            List.of("--input", gz.toString()),
            List.of("--input", docs + "/*.txt", "--input-format", "documents"))) {
      Path out = dir.resolve("records-" + input.size());
      List<String> args = Cli.args(List.of("create-data"), input.toArray(String[]::new));
      String created =
          Cli.ok(
                  Cli.run(
                      args,
                      "--vocab",
                      vocab.toString(),
                      "--output",
                      out.toString(),
                      "--max-seq-length",
                      "64",
                      "--max-predictions",
                      "10"))
              .strip();
      String json = created.substring(created.lastIndexOf('\n') + 1);
      assertTrue(json.startsWith("{\"documents\":" + corpus.count() + ","), input + ": " + json);
    }
  }

  @Test
  void badFlagsAreUsageErrors() {
    assertEquals(
        CoreBert.EXIT_USAGE,
        CoreBert.run("create-data", "--input", dir + "/*.txt", "--vocab", "v", "--output", "o"));
    assertEquals(CoreBert.EXIT_USAGE, CoreBert.run("inspect-data", "--input", dir + "/none*"));
    assertEquals(0, CoreBert.run("create-data", "--help"));
  }
}
