package corebert.bench;

import corebert.model.Precision;
import corebert.train.CpuFeatures;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
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
      String precision) {
    /**
     * Whether {@code o} is a machine of the same kind as this one: the same CPU, flags, cores and
     * oneDNN setting. Wall-clock runs compare only between such machines.
     */
    boolean sameKind(Facts o) {
      return o != null
          && cores == o.cores
          && Objects.equals(cpu, o.cpu)
          && Objects.equals(cpuFlags, o.cpuFlags)
          && Objects.equals(onednnMaxCpuIsa, o.onednnMaxCpuIsa)
          && onednn == o.onednn;
    }

    /** One line for a log or an error: "2 cores, AMD EPYC (avx2, no avx512f, ...), fp32". */
    String describe() {
      List<String> on = new ArrayList<>();
      if (cpuFlags != null) {
        cpuFlags.forEach((f, set) -> on.add(set ? f : "no " + f));
      }
      return String.format(
          Locale.ROOT,
          "%d cores, %s (%s)%s%s",
          cores,
          cpu,
          String.join(", ", on),
          onednnMaxCpuIsa == null ? "" : ", oneDNN capped at " + onednnMaxCpuIsa,
          precision == null ? "" : ", " + precision);
    }
  }

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
