package corebert.train;

import corebert.model.Precision;
import java.util.Optional;
import java.util.function.IntSupplier;

/**
 * The matmul precision a run uses and why. "auto" takes bf16 where it is native (a GPU, or a CPU
 * with AVX512-BF16 or AMX that oneDNN may use) and fp32 elsewhere, since emulated bf16 is slower
 * than fp32; an explicit bf16 on such a CPU still runs, with a warning.
 *
 * @param precision the type the matmuls compute in
 * @param reason one line for the log: requested, or what auto saw
 * @param warning set when the requested precision will be slower than fp32 here
 */
public record PrecisionChoice(Precision precision, String reason, Optional<String> warning) {

  /**
   * Resolves {@code requested} (empty for auto) on a machine with {@code cpu}; {@code gpus} is
   * asked only when the answer depends on it.
   */
  public static PrecisionChoice resolve(
      Optional<Precision> requested, CpuFeatures cpu, IntSupplier gpus) {
    if (requested.isPresent()) {
      Precision p = requested.get();
      Optional<String> slow =
          p == Precision.BF16 && gpus.getAsInt() == 0
              ? cpu.noNativeBf16()
                  .map(why -> "bf16 matmuls requested, but " + why + ": they run slower than fp32")
              : Optional.empty();
      return new PrecisionChoice(p, "requested", slow);
    }
    if (gpus.getAsInt() > 0) {
      return new PrecisionChoice(Precision.BF16, "auto: a GPU is present", Optional.empty());
    }
    return cpu.noNativeBf16()
        .map(
            why ->
                new PrecisionChoice(
                    Precision.FP32, "auto: " + why + ", so bf16 would be slower", Optional.empty()))
        .orElseGet(
            () ->
                new PrecisionChoice(
                    Precision.BF16,
                    "auto: this CPU has native bf16 (" + cpu.bf16Flag().orElseThrow() + ")",
                    Optional.empty()));
  }

  /** "precision bf16 (auto: this CPU has native bf16 (avx512_bf16))". */
  public String logLine() {
    return "precision " + precision.name().toLowerCase() + " (" + reason + ")";
  }
}
