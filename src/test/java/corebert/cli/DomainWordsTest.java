package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Below the CLI nothing speaks in flags: messages from train, model, surgery, data, export, core
 * and run say what is wrong in the domain's words, since bench and tests drive those layers without
 * a command line. The CLI adds its flags where that helps.
 */
class DomainWordsTest {
  private static final List<String> PACKAGES =
      List.of("train", "model", "surgery", "data", "export", "core", "run");

  /** A string literal, with escaped quotes inside. */
  private static final Pattern LITERAL = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"");

  @Test
  void noStringLiteralBelowTheCliNamesAFlag() throws IOException {
    List<String> found = new ArrayList<>();
    for (String p : PACKAGES) {
      try (Stream<Path> files = Files.walk(Path.of("src/main/java/corebert", p))) {
        for (Path f : files.filter(x -> x.toString().endsWith(".java")).toList()) {
          List<String> lines = Files.readAllLines(f);
          for (int i = 0; i < lines.size(); i++) {
            Matcher m = LITERAL.matcher(lines.get(i));
            while (m.find()) {
              if (m.group(1).matches(".*--[a-zA-Z].*")) {
                found.add(f + ":" + (i + 1) + ": " + m.group());
              }
            }
          }
        }
      }
    }
    assertEquals(List.of(), found);
  }
}
