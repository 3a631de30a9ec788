package corebert.util;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * The project's one JSON mapper. Records are snake_case objects with null fields left out, an
 * unknown or repeated key, trailing text, a missing number or flag, or a fraction where a whole
 * number belongs is an error, whole numbers read as {@code Long}, and NaN or infinity is written as
 * null (JSON has neither; a reader sees a missing value, not a fake number), a path as its string.
 * Files people read are indented by two spaces with {@code "key": value} and arrays on one line.
 */
public final class Jackson {
  /** NaN and infinities as null. */
  private static final class FiniteDoubles extends StdSerializer<Double> {
    FiniteDoubles() {
      super(Double.class);
    }

    @Override
    public void serialize(Double d, JsonGenerator g, SerializerProvider p) throws IOException {
      if (d.isNaN() || d.isInfinite()) {
        g.writeNull();
      } else {
        g.writeNumber(d);
      }
    }
  }

  public static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          // A record's null field is left out; a map's null value is written (e.g. "speedup":
          // null).
          .defaultPropertyInclusion(
              JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.ALWAYS))
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.USE_LONG_FOR_INTS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .addModule(
              new SimpleModule()
                  .addSerializer(Double.class, new FiniteDoubles())
                  .addSerializer(double.class, new FiniteDoubles())
                  .addSerializer(Path.class, ToStringSerializer.instance))
          .build();

  private static final ObjectWriter PRETTY =
      MAPPER.writer(
          new DefaultPrettyPrinter(
                  Separators.createDefaultInstance()
                      .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                      .withObjectEmptySeparator("")
                      .withArrayValueSpacing(Separators.Spacing.AFTER)
                      .withArrayEmptySeparator(""))
              .withObjectIndenter(new DefaultIndenter("  ", "\n"))
              .withArrayIndenter(DefaultPrettyPrinter.NopIndenter.instance));

  private Jackson() {}

  /** {@code value} on one line (a metrics line, a command's result). */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot write " + value.getClass().getSimpleName(), e);
    }
  }

  /** {@code value} indented, with a final newline, for files people read. */
  public static String writePretty(Object value) {
    try {
      return PRETTY.writeValueAsString(value) + "\n";
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException("cannot write " + value.getClass().getSimpleName(), e);
    }
  }

  /** The JSON tree of {@code text}; bad JSON is an {@link IllegalArgumentException}. */
  public static JsonNode parseTree(String text) {
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e.getOriginalMessage(), e);
    }
  }

  /** {@code text} as a {@code type}; the exception says which field did not fit. */
  public static <T> T read(String text, Class<T> type) {
    try {
      return MAPPER.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e.getOriginalMessage(), e);
    }
  }

  /** The JSON tree of {@code file}; an {@link IOException} names the position. */
  public static JsonNode readTree(Path file) throws IOException {
    return MAPPER.readTree(file.toFile());
  }

  /** {@code node} as a {@code type}; the exception says which field did not fit. */
  public static <T> T convert(JsonNode node, Class<T> type) throws IOException {
    return MAPPER.treeToValue(node, type);
  }
}
