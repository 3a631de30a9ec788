package corebert.bench;

import corebert.model.Precision;
import corebert.train.CpuFeatures;
import java.util.Locale;
import java.util.Map;
import org.tensorflow.TensorFlow;

/** Facts about the machine a benchmark ran on, recorded next to its numbers. */
final class Machine {
  private Machine() {}

  /**
   * A benchmark's {@code machine} block.
   *
   * @param cpuFlags the CPU flags that decide bf16's speed (null in files from before they were
   *     read)
   * @param cpuFlagsSource a note added by hand to files written before the flags were read, saying
   *     where their flags come from; never written by the benchmarks
   * @param onednnMaxCpuIsa oneDNN's ISA cap, where one was set
   * @param precision the matmul type the runs used (null where no model ran)
   */
  record Facts(
      int cores,
      String cpu,
      Map<String, Boolean> cpuFlags,
      String cpuFlagsSource,
      String onednnMaxCpuIsa,
      String tensorflow,
      String tensorflowJava,
      boolean xla,
      boolean onednn,
      String precision) {}

  /** This machine's facts, with XLA and the precision the benchmark ran with. */
  static Facts facts(boolean xla, Precision precision) {
    CpuFeatures cpu = CpuFeatures.ofThisMachine();
    return new Facts(
        Runtime.getRuntime().availableProcessors(),
        cpu.model(),
        cpu.recorded(),
        null,
        cpu.isaCap().orElse(null),
        TensorFlow.version(),
        "1.1.0",
        xla,
        cpu.onednn(),
        precision == null ? null : precision.name().toLowerCase(Locale.ROOT));
  }
}
