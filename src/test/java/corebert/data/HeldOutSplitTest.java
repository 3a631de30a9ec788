package corebert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeldOutSplitTest {
  @TempDir Path tmp;

  private static List<String> documents(Path file) throws Exception {
    return Arrays.stream(Files.readString(file).split("\n\n")).filter(d -> !d.isBlank()).toList();
  }

  @Test
  void holdsOutWholeDocumentsBySeedAndKeepsEveryOtherInOrder() throws Exception {
    StringBuilder corpus = new StringBuilder();
    List<String> docs = new ArrayList<>();
    for (int d = 0; d < 20; d++) {
      String doc = "Document " + d + " starts here.\nIt ends here, " + d + ".";
      docs.add(doc);
      corpus.append(doc).append("\n\n");
    }
    Path text = Files.writeString(tmp.resolve("corpus.txt"), corpus);
    HeldOutSplit.Counts c =
        HeldOutSplit.write(
            List.of(text),
            CorpusFormat.TEXT,
            "text",
            0.2,
            7,
            tmp.resolve("a/train.txt"),
            tmp.resolve("a/held.txt"));
    assertEquals(new HeldOutSplit.Counts(16, 4), c);
    List<String> train = documents(tmp.resolve("a/train.txt"));
    List<String> held = documents(tmp.resolve("a/held.txt"));
    assertEquals(16, train.size());
    assertEquals(4, held.size());
    // Every document lands whole on exactly one side, each side in corpus order.
    List<String> merged = new ArrayList<>(docs);
    merged.removeAll(held);
    assertEquals(train, merged);
    assertEquals(held, docs.stream().filter(held::contains).toList());

    HeldOutSplit.write(
        List.of(text),
        CorpusFormat.TEXT,
        "text",
        0.2,
        7,
        tmp.resolve("b/train.txt"),
        tmp.resolve("b/held.txt"));
    assertEquals(held, documents(tmp.resolve("b/held.txt")), "same seed, same split");
    assertNotEquals(
        HeldOutSplit.chosen(20, 4, 7), HeldOutSplit.chosen(20, 4, 8), "the seed chooses");
    assertEquals(1, HeldOutSplit.chosen(20, 1, 7).size(), "at least one document");
  }

  @Test
  void aSingleDocumentCannotBeSplit() throws Exception {
    Path text = Files.writeString(tmp.resolve("one.txt"), "Only one.\nStill one.\n");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                HeldOutSplit.write(
                    List.of(text),
                    CorpusFormat.TEXT,
                    "text",
                    0.5,
                    1,
                    tmp.resolve("t.txt"),
                    tmp.resolve("h.txt")));
    assertEquals(true, e.getMessage().contains("a held-out split needs at least 2"));
    assertEquals(false, Files.exists(tmp.resolve("t.txt")));
  }
}
