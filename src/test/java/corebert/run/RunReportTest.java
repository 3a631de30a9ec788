package corebert.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import corebert.util.Jackson;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class RunReportTest {
  @Test
  void theCommittedBrownReportReadsAsTheTypedRecord() throws Exception {
    // Written before the typed records by eval/run_brown.sh; every field must still fit.
    RunReport.Report r =
        Jackson.read(
            Files.readString(Path.of("eval/run-brown/report.json")), RunReport.Report.class);
    assertEquals("relaxed", r.beforeSurgery().phase());
    assertEquals("full", r.afterSurgery().phase());
    assertEquals(r.afterSurgery().step(), r.surgeryStep());
    assertEquals(r.afterSurgery().loss() - r.beforeSurgery().loss(), r.switchJump(), 1e-12);
    assertEquals(r.curve().get(r.curve().size() - 1).loss(), r.finalMlmLossMasked());
    assertEquals(r.finalStep(), r.curve().get(r.curve().size() - 1).step());
  }
}
