package corebert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The corpus layouts read into the same documents and sentences. */
class CorpusFormatTest {
  @TempDir Path dir;

  private static final String FIRST = "The jury said it did find. It was a fine day.\n\nA new one.";
  // The JDK's sentence rules know no abbreviations: "Mr. Smith" would be two sentences.
  private static final String SECOND = "Smith came home at 5 today.";

  /** The documents, each its sentences, that a read of {@code files} delivers. */
  private static List<List<String>> documents(List<Path> files, CorpusFormat format) {
    List<List<String>> docs = new ArrayList<>();
    new CorpusReader(files, format, "body")
        .read(
            (documentIndex, lines) -> {
              assertEquals(docs.size(), documentIndex);
              docs.add(lines);
            });
    return docs;
  }

  @Test
  void documentsJsonLinesAndTheirGzipGiveTheSameSentences() throws IOException {
    List<List<String>> expected =
        List.of(
            List.of("The jury said it did find.", "It was a fine day.", "A new one."),
            List.of("Smith came home at 5 today."));
    // One document per file; a hard-wrapped line is joined back.
    Path a = Files.writeString(dir.resolve("a.txt"), FIRST.replace("It was", "It\nwas"));
    Path b = Files.writeString(dir.resolve("b.txt"), "\n" + SECOND + "\n\n");
    Path blank = Files.writeString(dir.resolve("blank.txt"), " \n");
    assertEquals(expected, documents(List.of(a, blank, b), CorpusFormat.DOCUMENTS));

    String jsonl =
        "{\"body\": \""
            + FIRST.replace("\n", "\\n")
            + "\", \"id\": 1}\n"
            + "{\"body\": \"\"}\n\n"
            + "{\"body\": \""
            + SECOND
            + "\"}\n";
    Path lines = Files.writeString(dir.resolve("c.jsonl"), jsonl);
    assertEquals(expected, documents(List.of(lines), CorpusFormat.AUTO));
    Path gz = dir.resolve("c.jsonl.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write(jsonl.getBytes(StandardCharsets.UTF_8));
    }
    assertEquals(expected, documents(List.of(gz), CorpusFormat.AUTO));

    // google-research's text, gzipped, still reads line by line.
    Path text = dir.resolve("d.txt.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(text))) {
      out.write("One sentence.\nTwo.\n\nThree.\n".getBytes(StandardCharsets.UTF_8));
    }
    assertEquals(
        List.of(List.of("One sentence.", "Two."), List.of("Three.")),
        documents(List.of(text), CorpusFormat.AUTO));
  }
}
