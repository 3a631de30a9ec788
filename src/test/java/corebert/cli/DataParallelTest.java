package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Towers and gradient accumulation change how a step is computed, not what it computes: with
 * dropout off, N towers, K accumulation steps, or both, give the losses of one replica on the same
 * global batch, step after step (so the summed gradients and the updates match too).
 */
class DataParallelTest {
  @TempDir Path dir;

  static final int STEPS = 5;

  /**
   * The settings of every run these tests compare step by step, in fp32 on every machine (auto
   * would take bf16 where it is native).
   */
  static final List<String> EXACT =
      List.copyOf(Cli.args(BrownFixture.everyStepLogged(8, 7), "--precision", "fp32"));

  /** bert-tiny, dropout off, 4 steps of batch 8 on the Brown sample, plus {@code extra} flags. */
  static double[] train(Path out, Path config, String... extra) {
    List<String> args =
        new ArrayList<>(
            BrownFixture.pretrainArgs(config, BrownFixture.get().trainGlob(), out.toString()));
    args.addAll(List.of("--steps", String.valueOf(STEPS)));
    args.addAll(EXACT);
    args.addAll(List.of(extra));
    Cli.ok(Cli.run(args.toArray(String[]::new)));
    return Cli.losses(out);
  }

  static void assertSameLosses(double[] expected, double[] actual, String what) {
    assertEquals(STEPS, actual.length, what);
    for (int i = 0; i < STEPS; i++) {
      assertEquals(expected[i], actual[i], 2e-4, what + " step " + (i + 1));
    }
  }

  @Test
  void towersAndAccumulationMatchOneReplica() throws Exception {
    Path cfg = BrownFixture.get().noDropout(dir);
    double[] single = train(dir.resolve("single"), cfg);
    // The updates move the loss, so equal later steps mean equal gradients.
    assertTrue(Math.abs(single[STEPS - 1] - single[0]) > 1e-3, "training must change the loss");
    assertSameLosses(single, train(dir.resolve("towers"), cfg, "--num-gpus", "2"), "2 towers");
    assertSameLosses(
        single,
        train(dir.resolve("accumulate"), cfg, "--accumulate-steps", "4"),
        "4 accumulation steps");
    assertSameLosses(
        single,
        train(dir.resolve("both"), cfg, "--num-gpus", "2", "--accumulate-steps", "2"),
        "2 towers x 2 accumulation steps");
  }

  @Test
  void towersFedByTheirOwnInputShardsMatchOneReplicaReadingBoth() throws Exception {
    Path cfg = BrownFixture.get().noDropout(dir);
    double[] shards = train(dir.resolve("shards"), cfg, "--input-shards", "2");
    assertSameLosses(
        shards,
        train(dir.resolve("towers"), cfg, "--num-gpus", "2", "--input-shards", "2"),
        "2 towers, each on its own input shard");
  }

  @Test
  void batchThatDoesNotSplitIsAUsageError() throws Exception {
    Cli.Outcome o =
        Cli.run(
            BrownFixture.get().pretrain(dir.resolve("x").toString()),
            "--batch-size",
            "6",
            "--num-gpus",
            "4",
            "--steps",
            "1");
    assertEquals(CoreBert.EXIT_USAGE, o.code(), o.err());
    assertTrue(o.err().contains("batch size 6 does not split into 4 tower(s)"), o.err());
  }
}
