package corebert.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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

  /**
   * One tensor's header entry: its type, shape, and [begin, end) byte offsets in the data buffer.
   */
  public record Entry(String dtype, long[] shape, long[] dataOffsets) {}

  /** The header's reserved key for string metadata, which is not a tensor. */
  private static final String METADATA = "__metadata__";

  private SafeTensors() {}

  /** Writes {@code tensors} in their map order, with {@code metadata} as {@code __metadata__}. */
  public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
      throws IOException {
    ObjectNode header = Jackson.MAPPER.createObjectNode();
    header.set(METADATA, Jackson.MAPPER.valueToTree(metadata));
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      long bytes = 4L * e.getValue().values().length;
      Entry entry = new Entry("F32", e.getValue().shape(), new long[] {offset, offset + bytes});
      header.set(e.getKey(), Jackson.MAPPER.valueToTree(entry));
      offset += bytes;
    }
    StringBuilder json = new StringBuilder(Jackson.write(header));
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

  /** Reads every tensor of a file: name -> tensor, in file order (float types only). */
  public static Map<String, Tensor> read(Path file) throws IOException {
    Reader r = Reader.open(file);
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String name : r.names()) {
      out.put(name, r.tensor(name));
    }
    return out;
  }

  /**
   * A safetensors file's header, with each tensor decoded to float32 when asked for: F32 as it is,
   * F16 and BF16 widened exactly. Errors name the file and the tensor.
   */
  public static final class Reader {
    private final Path file;
    private final byte[] all;
    private final int dataStart;
    private final Map<String, Entry> entries;

    private Reader(Path file, byte[] all, int dataStart, Map<String, Entry> entries) {
      this.file = file;
      this.all = all;
      this.dataStart = dataStart;
      this.entries = entries;
    }

    public static Reader open(Path file) throws IOException {
      byte[] all = Files.readAllBytes(file);
      if (all.length < 8) {
        throw new IllegalArgumentException(file + ": too short for a safetensors file");
      }
      long headerLength = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      if (headerLength <= 0 || 8 + headerLength > all.length) {
        throw new IllegalArgumentException(
            file
                + ": header length "
                + headerLength
                + " does not fit a "
                + all.length
                + "-byte file");
      }
      String header = new String(all, 8, (int) headerLength, StandardCharsets.UTF_8);
      Map<String, Entry> entries = new LinkedHashMap<>();
      try {
        JsonNode tree = Jackson.MAPPER.readTree(header);
        if (!tree.isObject()) {
          throw new IllegalArgumentException("not a JSON object");
        }
        for (Map.Entry<String, JsonNode> e : tree.properties()) {
          if (!e.getKey().equals(METADATA)) {
            entries.put(e.getKey(), Jackson.convert(e.getValue(), Entry.class));
          }
        }
      } catch (IOException | IllegalArgumentException e) {
        throw new IllegalArgumentException(file + ": bad safetensors header: " + e.getMessage(), e);
      }
      return new Reader(file, all, 8 + (int) headerLength, entries);
    }

    /** Every tensor's name, in file order. */
    public List<String> names() {
      return List.copyOf(entries.keySet());
    }

    public boolean has(String name) {
      return entries.containsKey(name);
    }

    /** The tensor's shape as the header gives it. */
    public long[] shape(String name) {
      return entry(name).shape().clone();
    }

    /** The tensor, decoded to float32. */
    public Tensor tensor(String name) {
      Entry entry = entry(name);
      String dtype = entry.dtype();
      int width =
          switch (dtype) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default ->
                throw new IllegalArgumentException(
                    file + ": " + name + " is " + dtype + ", not a float type (F32, F16, BF16)");
          };
      long[] offsets = entry.dataOffsets();
      if (offsets.length != 2) {
        throw new IllegalArgumentException(
            file
                + ": "
                + name
                + "'s data_offsets "
                + Arrays.toString(offsets)
                + " are not [begin, end]");
      }
      long begin = dataStart + offsets[0];
      long end = dataStart + offsets[1];
      long[] shape = shape(name);
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      if (begin < dataStart || end > all.length || end - begin != n * width) {
        throw new IllegalArgumentException(
            file
                + ": "
                + name
                + "'s data ["
                + begin
                + ", "
                + end
                + ") does not hold its shape "
                + Arrays.toString(shape)
                + " of "
                + dtype
                + " in a "
                + all.length
                + "-byte file");
      }
      ByteBuffer data =
          ByteBuffer.wrap(all, (int) begin, (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
      float[] values = new float[(int) n];
      if (width == 4) {
        data.asFloatBuffer().get(values);
      } else {
        for (int i = 0; i < values.length; i++) {
          short bits = data.getShort();
          values[i] = dtype.equals("BF16") ? Float.intBitsToFloat(bits << 16) : halfToFloat(bits);
        }
      }
      return new Tensor(shape, values);
    }

    /** IEEE 754 binary16 to float32, exactly (the JDK has this only from Java 20). */
    static float halfToFloat(short bits) {
      int sign = (bits & 0x8000) << 16;
      int exponent = (bits >> 10) & 0x1f;
      int mantissa = bits & 0x3ff;
      if (exponent == 0x1f) {
        return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13)); // inf or NaN
      }
      if (exponent == 0) {
        float subnormal = mantissa * 0x1p-24f; // exact: at most 10 bits
        return sign == 0 ? subnormal : -subnormal;
      }
      return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    private Entry entry(String name) {
      Entry e = entries.get(name);
      if (e == null) {
        throw new IllegalArgumentException(file + ": no tensor " + name);
      }
      return e;
    }
  }
}
