package corebert.surgery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.train.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** surgery.json files already on disk keep resuming: today's, older ones, and a broken one. */
class SurgeryReportTest {
  @TempDir Path dir;

  @Test
  void readsAReportWrittenBeforeTheTypedRecords() throws Exception {
    // Written by the hand-made JSON writer this project used until Jackson (run C1's surgery).
    Files.copy(
        Path.of("src/test/resources/fixtures/surgery.json"), dir.resolve(RunDir.SURGERY_REPORT));
    Surgery.Report r = Surgery.readReport(dir);
    assertEquals(dir.resolve("model.ckpt-5630"), r.checkpoint());
    assertEquals(5630, r.step());
    assertEquals(131, r.copied());
    assertEquals(4, r.rebuilt());
    assertEquals(4.172325134277344E-7, r.maxFfnDifference());
    assertEquals(1.1175870895385742E-6, r.maxDenseDifference());
    assertEquals(List.of(33.83670664663276, 59.618213609677476), r.qkNorms());
    assertEquals(List.of(), r.temperatures());
  }

  @Test
  void olderReportsLackTheNewerChecksAndABrokenOneNamesItsFile() throws Exception {
    Path file = dir.resolve(RunDir.SURGERY_REPORT);
    Files.writeString(
        file,
        "{\"checkpoint\": \"model.ckpt-7\", \"step\": 7, \"copied\": 3, \"rebuilt\": 2,"
            + " \"max_copied_diff\": 0.0, \"max_ffn_diff\": 1e-7}");
    Surgery.Report r = Surgery.readReport(dir);
    assertEquals(1e-7, r.maxDenseDifference(), "the FFN check stood for both");
    assertEquals(List.of(), r.qkNorms());
    Files.writeString(file, "{\"checkpoint\": \"model.ckpt-7\", \"stepp\": 7}");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Surgery.readReport(dir));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
  }
}
