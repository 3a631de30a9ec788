package corebert.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocabTest {
  @TempDir Path dir;

  private Path write(String name, String content) throws IOException {
    Path file = dir.resolve(name);
    Files.writeString(file, content, StandardCharsets.UTF_8);
    return file;
  }

  @Test
  void loadsBertFormat() throws IOException {
    Vocab vocab = Vocab.load(write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n"));
    assertEquals(7, vocab.size());
    assertEquals(0, vocab.padId());
    assertEquals(1, vocab.unkId());
    assertEquals(2, vocab.clsId());
    assertEquals(3, vocab.sepId());
    assertEquals(4, vocab.maskId());
    assertEquals(5, vocab.id("the"));
    assertEquals(vocab.unkId(), vocab.id("absent"));
    assertTrue(vocab.contains("##s"));
    assertFalse(vocab.contains("s"));
    assertEquals("##s", vocab.token(6));
    assertEquals(Vocab.SPECIAL_TOKENS, vocab.tokens().subList(0, 5));
  }

  @Test
  void writeRoundTripsAndLeavesNoTempFile() throws IOException {
    Vocab vocab = Vocab.of(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "caf\u00E9"));
    Path out = dir.resolve("sub/vocab.txt");
    vocab.write(out);
    vocab.write(out); // replaces
    assertEquals(vocab.tokens(), Vocab.load(out).tokens());
    try (Stream<Path> files = Files.list(out.getParent())) {
      assertEquals(List.of(out), files.toList());
    }
  }

  @Test
  void rejectsMissingSpecials() throws IOException {
    Path file = write("v.txt", "[PAD]\n[UNK]\n[CLS]\nthe\n");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Vocab.load(file));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("[SEP] [MASK]"), e.getMessage());
  }

  @Test
  void rejectsBadFiles() throws IOException {
    Path missing = dir.resolve("missing.txt");
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Vocab.load(missing))
            .getMessage()
            .contains(missing.toString()));
    Path empty = write("empty.txt", "");
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Vocab.load(empty))
            .getMessage()
            .contains(empty + ": vocab is empty"));
    Path dup = write("dup.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nthe\n");
    String message =
        assertThrows(IllegalArgumentException.class, () -> Vocab.load(dup)).getMessage();
    assertTrue(message.contains(dup + ":7: duplicate token 'the' (first on line 6)"), message);
    Path blank = write("blank.txt", "[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n[MASK]\n");
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Vocab.load(blank))
            .getMessage()
            .contains(blank + ":3: empty token"));
    Path latin1 = dir.resolve("latin1.txt");
    Files.write(latin1, new byte[] {'[', 'P', 'A', 'D', ']', '\n', (byte) 0xE9, '\n'});
    assertTrue(
        assertThrows(IllegalArgumentException.class, () -> Vocab.load(latin1))
            .getMessage()
            .contains("not valid UTF-8"));
  }
}
