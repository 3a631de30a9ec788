package corebert.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The CPU features that decide whether bf16 matmuls pay off: oneDNN has native bf16 kernels only on
 * AVX512-BF16 and AMX; elsewhere it converts bf16 through fp32, which measured slower than plain
 * fp32 (0.90–0.94× on an AVX2 EPYC, issue 19).
 *
 * @param model the CPU's model name
 * @param flags the kernel's feature flags of the first processor in /proc/cpuinfo
 * @param isaCap oneDNN's {@code ONEDNN_MAX_CPU_ISA} (or {@code DNNL_MAX_CPU_ISA}) when it is set
 * @param onednn false when {@code TF_ENABLE_ONEDNN_OPTS=0} leaves the matmuls to Eigen
 */
public record CpuFeatures(
    String model, Set<String> flags, Optional<String> isaCap, boolean onednn) {
  /** The flags worth recording next to a measurement, under /proc/cpuinfo's names. */
  public static final String[] RECORDED = {"avx2", "avx512f", "avx512_bf16", "amx_bf16"};

  private static CpuFeatures thisMachine;

  /** This machine's, read once from /proc/cpuinfo and the environment. */
  public static synchronized CpuFeatures ofThisMachine() {
    if (thisMachine == null) {
      String cpuinfo;
      try {
        cpuinfo = Files.readString(Path.of("/proc/cpuinfo"));
      } catch (IOException e) {
        cpuinfo = ""; // not Linux: no flags known, so no native bf16 is assumed
      }
      thisMachine = parse(cpuinfo, System.getenv());
    }
    return thisMachine;
  }

  /** Parses /proc/cpuinfo text (x86 "flags" lines) and oneDNN's switches from {@code env}. */
  public static CpuFeatures parse(String cpuinfo, Map<String, String> env) {
    String model = null; // the first processor's, like its flags
    Set<String> flags = new TreeSet<>();
    boolean flagsSeen = false;
    for (String line : cpuinfo.split("\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String key = line.substring(0, colon).trim();
      String value = line.substring(colon + 1).trim();
      if (key.equals("model name") && model == null) {
        model = value;
      } else if (key.equals("flags") && !flagsSeen) {
        flags.addAll(Arrays.asList(value.split("\\s+")));
        flagsSeen = true;
      }
    }
    Optional<String> cap =
        Optional.ofNullable(env.get("ONEDNN_MAX_CPU_ISA"))
            .or(() -> Optional.ofNullable(env.get("DNNL_MAX_CPU_ISA")))
            .map(s -> s.trim().toUpperCase(Locale.ROOT))
            .filter(s -> !s.isEmpty());
    return new CpuFeatures(
        model == null ? System.getProperty("os.arch") : model,
        Set.copyOf(flags),
        cap,
        !"0".equals(env.get("TF_ENABLE_ONEDNN_OPTS")));
  }

  public boolean has(String flag) {
    return flags.contains(flag);
  }

  /** The CPU's own native bf16: AVX512-BF16 or AMX-BF16, whatever oneDNN is allowed to use. */
  public Optional<String> bf16Flag() {
    return Optional.ofNullable(
        has("amx_bf16") ? "amx_bf16" : has("avx512_bf16") ? "avx512_bf16" : null);
  }

  /**
   * Why bf16 matmuls are not native here, or empty when they are: the CPU lacks the instructions,
   * oneDNN is off, or {@code ONEDNN_MAX_CPU_ISA} caps it below them.
   */
  public Optional<String> noNativeBf16() {
    if (bf16Flag().isEmpty()) {
      return Optional.of("this CPU has neither avx512_bf16 nor amx_bf16");
    }
    if (!onednn) {
      return Optional.of(
          "TF_ENABLE_ONEDNN_OPTS=0 leaves the matmuls to Eigen, which emulates bf16");
    }
    if (isaCap.isPresent() && !capAllowsBf16(isaCap.get())) {
      return Optional.of("ONEDNN_MAX_CPU_ISA=" + isaCap.get() + " keeps oneDNN below bf16");
    }
    return Optional.empty();
  }

  /** oneDNN's ISA names: ALL and the AVX512_CORE_BF16 level and above have bf16 kernels. */
  private static boolean capAllowsBf16(String cap) {
    return cap.equals("ALL")
        || cap.contains("BF16")
        || cap.contains("AMX")
        || cap.contains("FP16")
        || cap.startsWith("AVX10");
  }

  /** Each recorded flag, true or false, for a benchmark's machine block. */
  public Map<String, Boolean> recorded() {
    Map<String, Boolean> m = new LinkedHashMap<>();
    for (String f : RECORDED) {
      m.put(f, has(f));
    }
    return m;
  }
}
