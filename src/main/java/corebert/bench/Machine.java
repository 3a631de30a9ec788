package corebert.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.tensorflow.TensorFlow;

/** Facts about the machine a benchmark ran on, recorded next to its numbers. */
final class Machine {
  private Machine() {}

  static Map<String, Object> facts(boolean xla) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("cpu", cpuModel());
    m.put("tensorflow", TensorFlow.version());
    m.put("tensorflow_java", "1.1.0");
    m.put("xla", xla);
    m.put("onednn", !"0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS")));
    return m;
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    return System.getProperty("os.arch");
  }
}
