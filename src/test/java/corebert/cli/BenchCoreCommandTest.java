package corebert.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.bench.CoreVsBaseline.BaselineSetting;
import org.junit.jupiter.api.Test;

class BenchCoreCommandTest {
  @Test
  void aBaselineSettingNamesOnlyTheKnobsItChanges() {
    assertEquals(BaselineSetting.atRate(7e-4), BenchCoreCommand.baselineSetting("lr=7e-4"));
    assertEquals(
        new BaselineSetting(1e-3, 500L, 32),
        BenchCoreCommand.baselineSetting("lr=1e-3, warmup-steps=500,batch-size=32"));
    for (String bad :
        new String[] {"warmup-steps=500", "lr=1e-3,warmup=5", "lr=x", "lr=1e-3,batch-size=0"}) {
      UsageException e =
          assertThrows(UsageException.class, () -> BenchCoreCommand.baselineSetting(bad), bad);
      assertTrue(e.getMessage().startsWith("--baseline"), e.getMessage());
    }
  }
}
