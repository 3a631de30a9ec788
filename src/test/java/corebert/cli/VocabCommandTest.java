package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import corebert.data.Vocab;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabCommandTest {
  @TempDir Path dir;

  @Test
  void trainsAndPrintsOnlyPathAndSize() throws IOException {
    Path text = dir.resolve("a.txt");
    Files.writeString(
        text, "The cat sat on the mat.\n\nThe dog sat too.\n", StandardCharsets.UTF_8);
    Path output = dir.resolve("vocab.txt");
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int code;
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      code =
          CoreBert.run(
              "vocab", "--input", dir + "/*.txt", "--output", output.toString(), "--size", "40");
    } finally {
      System.setOut(stdout);
    }
    assertEquals(0, code);
    assertEquals(output + " 40\n", captured.toString(StandardCharsets.UTF_8));
    assertEquals(40, Vocab.load(output).size());
  }

  @Test
  void unmatchedGlobIsUsageError() {
    assertEquals(
        CoreBert.EXIT_USAGE,
        CoreBert.run("vocab", "--input", dir + "/none-*.txt", "--output", dir + "/v.txt"));
  }
}
