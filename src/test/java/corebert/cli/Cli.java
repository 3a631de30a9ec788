package corebert.cli;

import corebert.train.MetricsLog;
import corebert.train.RunDir;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
    org.junit.jupiter.api.Assertions.assertEquals(
        0, o.code(), () -> "exit " + o.code() + ": " + o.err());
    return o.out();
  }

  /** The training loss of every logged step in a run's metrics.jsonl. */
  static double[] losses(Path outputDir) {
    return MetricsLog.read(outputDir.resolve(RunDir.METRICS)).stream()
        .mapToDouble(MetricsLog.Entry::loss)
        .toArray();
  }

  /** `corebert ARGS` in a JVM of its own, with this test's classpath, logging to {@code log}. */
  static Process start(Path log, List<String> args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), CoreBert.class.getName()));
    command.addAll(args);
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  interface Condition {
    boolean holds();
  }

  /** Polls {@code c} until it holds, failing if {@code p} ends first or time runs out. */
  static void waitFor(Condition c, Process p, long millis) throws InterruptedException {
    long end = System.currentTimeMillis() + millis;
    while (!c.holds()) {
      org.junit.jupiter.api.Assertions.assertTrue(p.isAlive(), "the process ended early");
      org.junit.jupiter.api.Assertions.assertTrue(
          System.currentTimeMillis() < end, "timed out waiting");
      Thread.sleep(1);
    }
  }

  /** HEAD... TAIL...: a shared argument prefix and what this call adds. */
  static List<String> args(List<String> head, String... tail) {
    List<String> args = new ArrayList<>(head);
    args.addAll(List.of(tail));
    return args;
  }

  /** `corebert HEAD... TAIL...`. */
  static Outcome run(List<String> head, String... tail) {
    return run(args(head, tail).toArray(String[]::new));
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
