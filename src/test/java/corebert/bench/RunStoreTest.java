package corebert.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.BertConfig;
import corebert.train.HeldOutCurve.Point;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunStoreTest {
  private static final BertConfig MINI = BertConfig.fromJsonFile(Path.of("graphs/bert-mini.json"));
  private static final CoreVsBaseline.CoreSetting CORE =
      new CoreVsBaseline.CoreSetting(1, 0.5, 32, 32, 7e-4, 3e-4, true, true, 0, false, 0);

  /** A machine of another kind than any this test runs on. */
  private static final Machine.Facts ELSEWHERE =
      new Machine.Facts(
          2,
          "Test CPU",
          Map.of("avx2", true, "avx512f", true, "avx512_bf16", true, "amx_bf16", false),
          null,
          null,
          "2.18.0",
          "1.1.0",
          false,
          true,
          "bf16");

  @TempDir Path dir;

  private static RunKey key(String setting, int batch, BertConfig cfg, boolean full) {
    return new RunKey(
        setting,
        12345,
        2400,
        240,
        RunKey.METRIC,
        batch,
        1000,
        full ? null : 50L,
        "BF16",
        List.of("train/part-00000-of-00001.tfrecord"),
        List.of("eval/part-00000-of-00001.tfrecord"),
        RunKey.model(cfg, full));
  }

  private static RunResult result(CoreVsBaseline.CoreSetting core) {
    List<Point> curve =
        List.of(
            new Point(240.5, 360, "relaxed", 6.92, 0.056, 6.64, 0.097),
            new Point(2400.2, 3579, "full", 5.28, 0.186, 4.88, 0.260));
    return core == null
        ? RunResult.baseline("baseline-lr7e-04", 12345, "t", 3579, 2431.2, ELSEWHERE, 7e-4, curve)
        : new RunResult(
            CORE.name(),
            12345,
            "t",
            3579,
            2431.2,
            ELSEWHERE,
            null,
            core,
            1800L,
            2.5,
            9.1,
            0.0,
            List.of(3.2, 3.8),
            curve);
  }

  @Test
  void theSameKeyIsReusedAndAnyChangedSettingIsNot() {
    RunStore store = new RunStore(dir.resolve("runs"));
    RunKey key = key("baseline-lr7e-04", 64, MINI, true);
    assertTrue(store.find(key.name(), key, RunResult.class).isEmpty(), "nothing stored yet");
    store.put(key.name(), key, result(null));
    Optional<RunResult> found =
        new RunStore(dir.resolve("runs"))
            .find(key.name(), key("baseline-lr7e-04", 64, MINI, true), RunResult.class);
    assertEquals(Optional.of(result(null)), found, "read back field for field, curve included");
    assertTrue(
        store.find(key.name(), key("baseline-lr7e-04", 32, MINI, true), RunResult.class).isEmpty(),
        "another batch size is another measurement");
    assertTrue(
        store
            .find(
                key.name(), key("baseline-lr7e-04", 64, MINI.withDropout(0), true), RunResult.class)
            .isEmpty(),
        "another model config is another measurement");

    RunKey core = key(CORE.name(), 64, CORE.config(MINI), false);
    store.put(core.name(), core, result(CORE));
    assertEquals(
        Optional.of(result(CORE)),
        store.find(core.name(), core, RunResult.class),
        "a CoRe run keeps its setting and switch");
  }

  @Test
  void aFullBertsKeyIgnoresTheRelaxedBlockAndCoResDoesNot() {
    BertConfig other = CORE.config(MINI);
    BertConfig third =
        MINI.withRelaxed(new BertConfig.Relaxed(BertConfig.Relaxed.LINEAR_ELU, 64, 0, 0));
    assertEquals(key("b", 64, other, true), key("b", 64, third, true));
    assertFalse(key("b", 64, other, true).model().has("relaxed"));
    assertNotEquals(key("c", 64, other, false), key("c", 64, third, false));
  }

  @Test
  void runsStillToTrainDoNotJoinStoredRunsFromAnotherKindOfMachine() {
    RunKey baseKey = key("baseline-lr7e-04", 64, MINI, true);
    BenchRunner.Done elsewhere =
        new BenchRunner.Done(baseKey, result(null), MINI, Optional.empty());
    BenchRunner.Planned stored = new BenchRunner.Planned(Optional.of(elsewhere), () -> elsewhere);
    BenchRunner.Planned missing =
        new BenchRunner.Planned(
            Optional.empty(),
            () -> {
              throw new AssertionError("nothing trains before the check");
            });
    CoreVsBaseline.Settings strict = settings(false);
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                CoreVsBaseline.requireOneKindOfMachine(strict, "final", List.of(stored, missing)));
    assertTrue(e.getMessage().contains(baseKey.name() + " (2 cores, Test CPU"), e.getMessage());
    assertTrue(e.getMessage().contains("--mixed-machines"), e.getMessage());
    CoreVsBaseline.requireOneKindOfMachine(strict, "final", List.of(stored));
    assertThrows(
        IllegalStateException.class,
        () -> BenchRunner.withCheckpoint(strict, elsewhere),
        "its checkpoint is not re-made on another kind of machine either");
    CoreVsBaseline.Settings mixed = settings(true);
    CoreVsBaseline.requireOneKindOfMachine(mixed, "final", List.of(stored, missing));
    assertTrue(mixed.unfairness().orElseThrow().contains("--mixed-machines"));

    RunResult r = result(null);
    RunResult here =
        RunResult.baseline(
            r.setting(),
            r.seed(),
            r.started(),
            r.steps(),
            r.wallSec(),
            BenchRunner.machine(strict),
            r.learningRate(),
            r.curve());
    BenchRunner.Done local = new BenchRunner.Done(baseKey, here, MINI, Optional.empty());
    CoreVsBaseline.requireOneKindOfMachine(
        strict,
        "final",
        List.of(new BenchRunner.Planned(Optional.of(local), () -> local), missing));
  }

  private CoreVsBaseline.Settings settings(boolean mixedMachines) {
    return CoreVsBaseline.Settings.builder(
            MINI,
            Path.of("graphs/bert-mini.json"),
            List.of(),
            List.of(),
            2400,
            dir,
            dir.resolve("report"))
        .baselines(
            List.of(
                CoreVsBaseline.BaselineSetting.atRate(5e-4),
                CoreVsBaseline.BaselineSetting.atRate(7e-4),
                CoreVsBaseline.BaselineSetting.atRate(1e-3)))
        .coreSettings(List.of(CORE))
        .mixedMachines(mixedMachines)
        .build();
  }

  @Test
  void aCorruptOrForeignEntryIsDoneAgainAndThenStored() throws IOException {
    RunStore store = new RunStore(dir);
    RunKey key = key("baseline-lr1e-03", 64, MINI, true);
    Path file = dir.resolve(key.name() + ".json");
    Files.writeString(file, "{\"key\": {\"setting\": \"baseline-lr1e-03\"");
    assertTrue(store.find(key.name(), key, RunResult.class).isEmpty(), "truncated JSON");
    Files.writeString(file, "{\"key\": {\"setting\": 1, \"unknown\": 2}, \"result\": {}}");
    assertTrue(store.find(key.name(), key, RunResult.class).isEmpty(), "a key of another shape");
    Files.writeString(file, "[]");
    assertTrue(store.find(key.name(), key, RunResult.class).isEmpty(), "not an entry");
    store.put(key.name(), key, result(null));
    assertEquals(Optional.of(result(null)), store.find(key.name(), key, RunResult.class));
    try (var files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList(), "no temporary file is left beside the entry");
    }
  }

  @Test
  void theSwitchJumpIsTheConvertedMinusTheRelaxedCheckpointAtTheSurgeryStep() {
    List<Point> curve =
        List.of(
            new Point(100, 50, "relaxed", 7.0, 0, 0, 0),
            new Point(200, 100, "relaxed", 6.0, 0, 0, 0),
            new Point(203, 100, "full", 6.25, 0, 0, 0),
            new Point(300, 150, "full", 5.5, 0, 0, 0));
    assertEquals(0.25, BenchRunner.switchJump(curve, 100));
    assertEquals(null, BenchRunner.switchJump(curve, 50), "no converted checkpoint at step 50");
  }

  @Test
  void aBaselineAtTheBenchmarksWarmupAndBatchKeepsItsEarlierName() {
    assertEquals("baseline-lr7e-04", CoreVsBaseline.BaselineSetting.atRate(7e-4).name());
    assertEquals(
        "baseline-lr1e-03-w500-b32", new CoreVsBaseline.BaselineSetting(1e-3, 500L, 32).name());
  }

  @Test
  void everyCommittedEntryReadsAsItsTypedRecords() throws Exception {
    // The benchmark's own store, which later sessions reuse: each entry must still read.
    try (var files = Files.walk(Path.of("eval/core-vs-baseline-runs"))) {
      List<Path> entries = files.filter(f -> f.toString().endsWith(".json")).toList();
      assertFalse(entries.isEmpty(), "the store is committed");
      for (Path f : entries) {
        var tree = corebert.util.Jackson.readTree(f);
        String name = f.getFileName().toString().replace(".json", "");
        if (name.startsWith("finetune-")) {
          var key = corebert.util.Jackson.convert(tree.get("key"), FinetuneStage.FinetuneKey.class);
          var result =
              corebert.util.Jackson.convert(
                  tree.get("result"), corebert.glue.FineTuner.Results.class);
          assertTrue(result.metric("accuracy") > 0, f.toString());
          assertEquals(
              Optional.of(result),
              new RunStore(f.getParent()).find(name, key, corebert.glue.FineTuner.Results.class));
          continue;
        }
        RunKey key = corebert.util.Jackson.convert(tree.get("key"), RunKey.class);
        RunResult result = corebert.util.Jackson.convert(tree.get("result"), RunResult.class);
        assertEquals(name, key.name(), f.toString());
        assertEquals(key.setting(), result.setting(), f.toString());
        assertFalse(result.curve().isEmpty(), f.toString());
        assertNotNull(result.machine(), f + " records the kind of machine it trained on");
        assertEquals(
            Optional.of(result), new RunStore(f.getParent()).find(name, key, RunResult.class));
      }
    }
  }
}
