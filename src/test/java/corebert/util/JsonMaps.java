package corebert.util;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.util.LinkedHashMap;
import java.util.Map;

/** Tests read a command's output and files as plain maps, to check the JSON exactly as written. */
public final class JsonMaps {
  private JsonMaps() {}

  /** A JSON object as an insertion-ordered map (whole numbers as Long); anything else fails. */
  public static Map<String, Object> parseObject(String text) {
    try {
      return Jackson.MAPPER.readValue(text, new TypeReference<LinkedHashMap<String, Object>>() {});
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e.getOriginalMessage(), e);
    }
  }
}
