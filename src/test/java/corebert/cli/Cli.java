package corebert.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs `corebert ...` in-process and captures its exit code, stdout and stderr. */
final class Cli {
  record Outcome(int code, String out, String err) {
    /** The last stdout line: a command's result. */
    String lastLine() {
      String[] lines = out.strip().split("\n");
      return lines[lines.length - 1];
    }
  }

  private Cli() {}

  /** Fails unless the command exited 0; returns its stdout. */
  static String ok(Outcome o) {
    org.junit.jupiter.api.Assertions.assertEquals(0, o.code(), () -> "exit " + o.code() + ": " + o.err());
    return o.out();
  }

  static synchronized Outcome run(String... args) {
    PrintStream savedOut = System.out;
    PrintStream savedErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = CoreBert.run(args);
    } finally {
      System.setOut(savedOut);
      System.setErr(savedErr);
    }
    String errText = err.toString(StandardCharsets.UTF_8);
    savedErr.print(errText); // keep the run's log visible in the test report
    return new Outcome(code, out.toString(StandardCharsets.UTF_8), errText);
  }
}
