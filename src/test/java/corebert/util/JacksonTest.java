package corebert.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JacksonTest {
  record Point(double elapsedSec, Long step, String phase) {}

  @Test
  void mapsKeepTheirOrderAndNonFiniteNumbersAreNull() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("b", 1L);
    m.put("a", new ArrayList<>(Arrays.asList(1.5, Double.NaN, 2.0)));
    m.put("dir", Path.of("work", "run"));
    m.put("empty", Map.of());
    m.put("none", null);
    assertEquals(
        "{\"b\":1,\"a\":[1.5,null,2.0],\"dir\":\"work/run\",\"empty\":{},\"none\":null}",
        Jackson.write(m),
        "a map's null value is written");
    assertEquals(
        "{\n  \"b\": 1,\n  \"a\": [1.5, null, 2.0],\n  \"dir\": \"work/run\",\n  \"empty\": {},\n"
            + "  \"none\": null\n}\n",
        Jackson.writePretty(m),
        "\"key\": value, two-space indent, arrays on one line: what sed and people read");
  }

  @Test
  void objectsReadWithLongsAndDoublesAndNoRepeatedKey() {
    Map<String, Object> m = JsonMaps.parseObject("{\"n\": 3, \"x\": 0.5, \"l\": [1, 2.0]}");
    assertEquals(3L, m.get("n"));
    assertEquals(0.5, m.get("x"));
    assertEquals(List.of(1L, 2.0), m.get("l"));
    assertThrows(
        IllegalArgumentException.class, () -> JsonMaps.parseObject("{\"n\": 1, \"n\": 2}"));
    assertThrows(IllegalArgumentException.class, () -> JsonMaps.parseObject("[1]"));
    assertThrows(IllegalArgumentException.class, () -> JsonMaps.parseObject("{\"n\": 1"));
    assertThrows(IllegalArgumentException.class, () -> JsonMaps.parseObject("{\"n\": 1} {}"));
  }

  @Test
  void recordsAreSnakeCaseWithoutNullsAndUnknownKeysAreErrors() {
    assertEquals(
        "{\"elapsed_sec\":1.5,\"phase\":\"full\"}", Jackson.write(new Point(1.5, null, "full")));
    assertEquals(
        new Point(2, 7L, "relaxed"),
        Jackson.read("{\"elapsed_sec\": 2, \"step\": 7, \"phase\": \"relaxed\"}", Point.class));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Jackson.read("{\"elapsed_sec\": 2, \"stp\": 7}", Point.class));
    assertTrue(e.getMessage().contains("\"stp\""), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> Jackson.read("{\"step\": 7, \"phase\": \"full\"}", Point.class),
        "a missing primitive is an error, not 0");
    assertEquals(
        new Point(1, null, "full"),
        Jackson.read("{\"elapsed_sec\": 1, \"phase\": \"full\"}", Point.class),
        "a missing boxed field is null");
  }
}
