package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.Precision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * {@code --precision auto} from /proc/cpuinfo: bf16 only where the CPU has native bf16 and oneDNN
 * may use it. Fixtures: a 2-core AMD EPYC with AVX512-BF16 (this project's usual machine, read as
 * is) and the AVX2-only EPYC of issue 19 (the same text with the AVX-512 flags taken out).
 */
class PrecisionChoiceTest {
  private static final Path FIXTURES = Path.of("src/test/resources/cpuinfo");
  private static final Optional<Precision> AUTO = Optional.empty();

  private static CpuFeatures cpu(String fixture, Map<String, String> env) throws IOException {
    return CpuFeatures.parse(Files.readString(FIXTURES.resolve(fixture)), env);
  }

  private static PrecisionChoice onCpu(Optional<Precision> requested, CpuFeatures cpu) {
    return PrecisionChoice.resolve(requested, cpu, () -> 0);
  }

  @Test
  void flagsOfBothKindsOfEpyc() throws IOException {
    CpuFeatures avx512 = cpu("epyc-avx512-bf16.txt", Map.of());
    assertEquals("AMD EPYC", avx512.model());
    assertEquals(
        Map.of("avx2", true, "avx512f", true, "avx512_bf16", true, "amx_bf16", false),
        avx512.recorded());
    CpuFeatures avx2 = cpu("epyc-avx2.txt", Map.of());
    assertEquals(
        Map.of("avx2", true, "avx512f", false, "avx512_bf16", false, "amx_bf16", false),
        avx2.recorded());
    // "avx512_bf16" is a whole flag, not a prefix of another: avx512f alone is no bf16.
    assertTrue(avx2.has("avx2") && !avx2.has("avx512"));
  }

  @Test
  void autoTakesBf16OnlyWhereItIsNative() throws IOException {
    PrecisionChoice native16 = onCpu(AUTO, cpu("epyc-avx512-bf16.txt", Map.of()));
    assertEquals(Precision.BF16, native16.precision());
    assertEquals(
        "precision bf16 (auto: this CPU has native bf16 (avx512_bf16))", native16.logLine());

    PrecisionChoice avx2 = onCpu(AUTO, cpu("epyc-avx2.txt", Map.of()));
    assertEquals(Precision.FP32, avx2.precision());
    assertTrue(avx2.reason().contains("neither avx512_bf16 nor amx_bf16"), avx2.reason());
    assertTrue(avx2.warning().isEmpty());

    CpuFeatures amx = CpuFeatures.parse("flags\t: avx2 avx512f amx_tile amx_bf16\n", Map.of());
    assertEquals(Precision.BF16, onCpu(AUTO, amx).precision());
    assertEquals(Optional.of("amx_bf16"), amx.bf16Flag());

    // A GPU takes bf16 whatever the CPU.
    assertEquals(
        Precision.BF16,
        PrecisionChoice.resolve(AUTO, cpu("epyc-avx2.txt", Map.of()), () -> 1).precision());
    // No cpuinfo at all (not Linux): nothing is known to be native.
    assertEquals(Precision.FP32, onCpu(AUTO, CpuFeatures.parse("", Map.of())).precision());
  }

  @Test
  void oneDnnSwitchesDecideToo() throws IOException {
    // ONEDNN_MAX_CPU_ISA=AVX2 makes an AVX-512 machine compute as an AVX2 one (CI's AVX2 pass).
    for (String cap : new String[] {"AVX2", "avx512_core", "AVX512_CORE_VNNI"}) {
      PrecisionChoice c =
          onCpu(AUTO, cpu("epyc-avx512-bf16.txt", Map.of("ONEDNN_MAX_CPU_ISA", cap)));
      assertEquals(Precision.FP32, c.precision(), cap);
      assertTrue(c.reason().contains("keeps oneDNN below bf16"), c.reason());
    }
    for (String cap : new String[] {"ALL", "AVX512_CORE_BF16", "AVX512_CORE_AMX"}) {
      assertEquals(
          Precision.BF16,
          onCpu(AUTO, cpu("epyc-avx512-bf16.txt", Map.of("DNNL_MAX_CPU_ISA", cap))).precision(),
          cap);
    }
    PrecisionChoice eigen =
        onCpu(AUTO, cpu("epyc-avx512-bf16.txt", Map.of("TF_ENABLE_ONEDNN_OPTS", "0")));
    assertEquals(Precision.FP32, eigen.precision());
    assertTrue(eigen.reason().contains("TF_ENABLE_ONEDNN_OPTS=0"), eigen.reason());
  }

  @Test
  void anExplicitChoiceIsKeptAndWarnedWhenSlower() throws IOException {
    PrecisionChoice slow = onCpu(Optional.of(Precision.BF16), cpu("epyc-avx2.txt", Map.of()));
    assertEquals(Precision.BF16, slow.precision());
    assertEquals("precision bf16 (requested)", slow.logLine());
    assertTrue(slow.warning().orElseThrow().contains("slower than fp32"), slow.warning()::get);

    assertFalse(
        onCpu(Optional.of(Precision.BF16), cpu("epyc-avx512-bf16.txt", Map.of()))
            .warning()
            .isPresent());
    assertEquals(
        Precision.FP32,
        onCpu(Optional.of(Precision.FP32), cpu("epyc-avx512-bf16.txt", Map.of())).precision());
    assertFalse(
        PrecisionChoice.resolve(
                Optional.of(Precision.BF16), cpu("epyc-avx2.txt", Map.of()), () -> 1)
            .warning()
            .isPresent());
  }
}
