package corebert.export;

import corebert.util.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A writer of the safetensors format (huggingface/safetensors, docs "Format"): an 8-byte
 * little-endian header length N, a UTF-8 JSON header of N bytes mapping each tensor name to its
 * {@code dtype}, {@code shape} and {@code data_offsets} [begin, end) within the byte buffer that
 * follows, then that buffer: every tensor's values, row-major, little-endian, back to back. The
 * header is padded with spaces to a multiple of 8 bytes so the data stays aligned. Only float32
 * ("F32") is written; no Maven library of the format is maintained.
 */
public final class SafeTensors {
  /** A float32 tensor: its shape and row-major values. */
  public record Tensor(long[] shape, float[] values) {
    public Tensor {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      if (n != values.length) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(shape) + " holds " + n + " values, got " + values.length);
      }
    }
  }

  private SafeTensors() {}

  /** Writes {@code tensors} in their map order, with {@code metadata} as {@code __metadata__}. */
  public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("__metadata__", new LinkedHashMap<>(metadata));
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      long bytes = 4L * e.getValue().values().length;
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("dtype", "F32");
      List<Object> shape = new ArrayList<>();
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      entry.put("shape", shape);
      entry.put("data_offsets", List.of(offset, offset + bytes));
      header.put(e.getKey(), entry);
      offset += bytes;
    }
    StringBuilder json = new StringBuilder(Json.write(header));
    while (json.toString().getBytes(StandardCharsets.UTF_8).length % 8 != 0) {
      json.append(' '); // the data then starts at a multiple of 8 bytes
    }
    byte[] headerBytes = json.toString().getBytes(StandardCharsets.UTF_8);
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(
          ByteBuffer.allocate(8)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putLong(headerBytes.length)
              .array());
      out.write(headerBytes);
      for (Tensor t : tensors.values()) {
        ByteBuffer data = ByteBuffer.allocate(4 * t.values().length).order(ByteOrder.LITTLE_ENDIAN);
        data.asFloatBuffer().put(t.values());
        out.write(data.array());
      }
    }
  }

  /** Reads a file this class wrote (float32 only): name -> tensor, in file order. */
  public static Map<String, Tensor> read(Path file) throws IOException {
    byte[] all = Files.readAllBytes(file);
    ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    int headerLength = Math.toIntExact(buf.getLong(0));
    String header = new String(all, 8, headerLength, StandardCharsets.UTF_8);
    int dataStart = 8 + headerLength;
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : Json.parseObject(header).entrySet()) {
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      Map<?, ?> entry = (Map<?, ?>) e.getValue();
      if (!"F32".equals(entry.get("dtype"))) {
        throw new IllegalArgumentException(
            file + ": " + e.getKey() + " is " + entry.get("dtype") + ", not F32");
      }
      List<?> shapeList = (List<?>) entry.get("shape");
      long[] shape = shapeList.stream().mapToLong(x -> ((Number) x).longValue()).toArray();
      List<?> offsets = (List<?>) entry.get("data_offsets");
      int begin = dataStart + ((Number) offsets.get(0)).intValue();
      int end = dataStart + ((Number) offsets.get(1)).intValue();
      float[] values = new float[(end - begin) / 4];
      ByteBuffer.wrap(all, begin, end - begin)
          .order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer()
          .get(values);
      out.put(e.getKey(), new Tensor(shape, values));
    }
    return out;
  }
}
