package corebert.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * `corebert ARGS` in a fresh JVM with this one's classpath; the CLI passes its main class in, so
 * that bench does not depend on cli. Benchmarks use it where a measurement needs its own process:
 * peak memory, or settings TensorFlow reads from the environment once at load (TF_XLA_FLAGS,
 * TF_ENABLE_ONEDNN_OPTS).
 */
final class ChildJvm {
  private ChildJvm() {}

  /**
   * @param main corebert's main class
   * @param launcher a command the JVM runs under (e.g. taskset -c 0), or empty
   * @param jvmOptions e.g. -Xmx1024m
   * @param env variables to set; a null value removes one
   */
  static Process start(
      Class<?> main,
      List<String> launcher,
      List<String> jvmOptions,
      Map<String, String> env,
      List<String> args,
      Path stderr)
      throws IOException {
    List<String> cmd = new ArrayList<>(launcher);
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(stderr.toFile());
    env.forEach(
        (k, v) -> {
          if (v == null) {
            pb.environment().remove(k);
          } else {
            pb.environment().put(k, v);
          }
        });
    return pb.start();
  }

  /** The last line a finished child printed on stdout; fails naming its log if it failed. */
  static String lastLine(Process p, Path stderr) throws IOException, InterruptedException {
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(
          "child corebert failed (exit " + p.exitValue() + "); see " + stderr);
    }
    return out.strip().lines().reduce((a, b) -> b).orElse("");
  }
}
