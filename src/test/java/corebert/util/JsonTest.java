package corebert.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
  private record Point(double sec, long step, String phase) {}

  @Test
  void recordFieldsKeepDeclarationOrderUnderTheirKeys() {
    Map<String, Object> m = Json.fields(new Point(1.5, 7, "full"), "sec", "step", null);
    assertEquals(List.of("sec", "step"), List.copyOf(m.keySet()));
    assertEquals("{\"sec\":1.5,\"step\":7}", Json.write(m));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> Json.fields(new Point(0, 0, ""), "sec", "step"));
    assertEquals("Point has 3 components, not 2", e.getMessage());
  }
}
