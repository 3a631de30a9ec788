package corebert.bench;

import corebert.model.Precision;
import corebert.train.CpuFeatures;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.tensorflow.TensorFlow;

/** Facts about the machine a benchmark ran on, recorded next to its numbers. */
final class Machine {
  private Machine() {}

  /**
   * Cores, CPU, the CPU flags that decide bf16's speed, TensorFlow, the backends, and {@code
   * precision}, the matmul type the runs used (null where no model ran).
   */
  static Map<String, Object> facts(boolean xla, Precision precision) {
    CpuFeatures cpu = CpuFeatures.ofThisMachine();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("cpu", cpu.model());
    m.put("cpu_flags", cpu.recorded());
    cpu.isaCap().ifPresent(cap -> m.put("onednn_max_cpu_isa", cap));
    m.put("tensorflow", TensorFlow.version());
    m.put("tensorflow_java", "1.1.0");
    m.put("xla", xla);
    m.put("onednn", cpu.onednn());
    m.put("precision", precision == null ? null : precision.name().toLowerCase(Locale.ROOT));
    return m;
  }
}
