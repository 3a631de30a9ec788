package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.train.NativeSessions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mixed precision: bf16 matmuls train like fp32 ones from the same start; fp16 needs a GPU. */
class PrecisionTest {
  @TempDir Path dir;

  private static Cli.Outcome train(Path out, String precision) {
    BrownFixture f = BrownFixture.get();
    List<String> args = Cli.args(f.pretrain(out.toString()), "--steps", "60");
    args.addAll(BrownFixture.everyStepLogged(16, 5));
    args.addAll(List.of("--precision", precision));
    if (precision.equals("fp16")) {
      args.addAll(List.of("--loss-scale", "dynamic"));
    }
    return Cli.run(args.toArray(String[]::new));
  }

  @Test
  void bf16TracksFp32() {
    Cli.ok(train(dir.resolve("fp32"), "fp32"));
    Cli.ok(train(dir.resolve("bf16"), "bf16"));
    double[] fp32 = Cli.losses(dir.resolve("fp32"));
    double[] bf16 = Cli.losses(dir.resolve("bf16"));
    // Same weights and batch at step 1: only the matmuls' rounding differs.
    assertEquals(fp32[0], bf16[0], 0.02, "step-1 loss");
    double last = (bf16[57] + bf16[58] + bf16[59]) / 3;
    assertTrue(
        last < bf16[0] - 0.5, "bf16 training must lower the loss: " + bf16[0] + " -> " + last);
    assertEquals((fp32[57] + fp32[58] + fp32[59]) / 3, last, 0.15, "bf16 vs fp32 after 60 steps");
  }

  @Test
  void fp16NeedsAGpu() {
    Cli.Outcome o = train(dir.resolve("fp16"), "fp16");
    if (NativeSessions.gpuCount() == 0) {
      assertEquals(CoreBert.EXIT_RUNTIME, o.code());
      assertTrue(o.err().contains("fp16 precision needs a GPU"), o.err());
    } else {
      Cli.ok(o);
    }
  }
}
