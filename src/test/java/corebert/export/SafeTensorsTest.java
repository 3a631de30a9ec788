package corebert.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Half-precision safetensors, as Hugging Face models often ship, widened exactly to float32. */
class SafeTensorsTest {
  @TempDir Path dir;

  @Test
  void halfPrecisionTensorsWidenExactly() throws Exception {
    // IEEE binary16: 1, -2, the smallest subnormal 2^-24, 1/3 rounded (0x3555), +infinity.
    short[] f16 = {0x3C00, (short) 0xC000, 0x0001, 0x3555, 0x7C00};
    float[] f16Values = {1f, -2f, 0x1p-24f, 0.333251953125f, Float.POSITIVE_INFINITY};
    // bfloat16 is float32's top half: 1.5, -0.15625, 3.0e38's top bits.
    float[] bf16Values = {1.5f, -0.15625f, Float.intBitsToFloat(0x7f610000)};
    short[] bf16 = new short[bf16Values.length];
    for (int i = 0; i < bf16.length; i++) {
      bf16[i] = (short) (Float.floatToIntBits(bf16Values[i]) >>> 16);
    }
    String header =
        "{\"a\": {\"dtype\": \"F16\", \"shape\": [5], \"data_offsets\": [0, 10]},"
            + " \"b\": {\"dtype\": \"BF16\", \"shape\": [1, 3], \"data_offsets\": [10, 16]}}";
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer file = ByteBuffer.allocate(8 + h.length + 16).order(ByteOrder.LITTLE_ENDIAN);
    file.putLong(h.length).put(h);
    for (short x : f16) {
      file.putShort(x);
    }
    for (short x : bf16) {
      file.putShort(x);
    }
    Path path = dir.resolve("half.safetensors");
    Files.write(path, file.array());

    SafeTensors.Reader r = SafeTensors.Reader.open(path);
    assertArrayEquals(f16Values, r.tensor("a").values());
    assertArrayEquals(new long[] {1, 3}, r.shape("b"));
    assertArrayEquals(bf16Values, r.tensor("b").values());
    assertEquals(Float.NEGATIVE_INFINITY, SafeTensors.Reader.halfToFloat((short) 0xFC00));
  }
}
