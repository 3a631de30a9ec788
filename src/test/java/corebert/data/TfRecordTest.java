package corebert.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TfRecordTest {
  @TempDir Path dir;

  @Test
  void roundTripsRecordsOfManySizes() throws Exception {
    Path file = dir.resolve("x.tfrecord");
    Random random = new Random(7);
    List<byte[]> written = new ArrayList<>();
    try (TfRecordWriter writer = new TfRecordWriter(file)) {
      for (int size : new int[] {0, 1, 3, 100, 70_000, 12}) {
        byte[] record = new byte[size];
        random.nextBytes(record);
        writer.write(record);
        written.add(record);
      }
      assertEquals(written.size(), writer.records());
    }
    try (TfRecordReader reader = new TfRecordReader(file)) {
      for (byte[] expected : written) {
        assertArrayEquals(expected, reader.next());
      }
      assertNull(reader.next());
      assertEquals(written.size(), reader.index());
    }
  }

  @Test
  void firstRecordMatchesHandComputedFraming() throws Exception {
    Path file = dir.resolve("golden.tfrecord");
    byte[] payload = "abc".getBytes(StandardCharsets.US_ASCII);
    try (TfRecordWriter writer = new TfRecordWriter(file)) {
      writer.write(payload);
    }
    byte[] lengthBytes = {3, 0, 0, 0, 0, 0, 0, 0};
    ByteBuffer expected = ByteBuffer.allocate(8 + 4 + 3 + 4).order(ByteOrder.LITTLE_ENDIAN);
    expected.put(lengthBytes).putInt(mask(crc32c(lengthBytes))).put(payload);
    expected.putInt(mask(crc32c(payload)));
    byte[] actual = Files.readAllBytes(file);
    assertArrayEquals(expected.array(), actual);
    // Cross-checked with a bitwise CRC32C (poly 0x82F63B78, check value of "123456789" is
    // 0xE3069283) written in Python, independent of java.util.zip.
    assertEquals(0x0e4999b0, ByteBuffer.wrap(actual, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
    assertEquals(
        0x21f1576e, ByteBuffer.wrap(actual, 15, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
  }

  @Test
  void flippedDataByteIsReportedWithRecordIndex() throws Exception {
    int secondRecordData = (12 + 5 + 4) + 12;
    Path file = withFlippedBits("flip.tfrecord", secondRecordData + 2, 0x10);
    assertCorruptAfter(file, 1, "record 1: data CRC mismatch");
  }

  @Test
  void flippedLengthByteIsReported() throws Exception {
    assertCorruptAfter(
        withFlippedBits("len.tfrecord", 1, 0x01), 0, "record 0: length CRC mismatch");
  }

  /** The three records of {@link #writeThree} with byte {@code offset} XORed by {@code bits}. */
  private Path withFlippedBits(String name, int offset, int bits) throws IOException {
    Path file = writeThree(name);
    byte[] bytes = Files.readAllBytes(file);
    bytes[offset] ^= (byte) bits;
    return Files.write(file, bytes);
  }

  @Test
  void truncatedFileIsReportedAtEveryCutPoint() throws Exception {
    Path file = writeThree("cut.tfrecord");
    byte[] bytes = Files.readAllBytes(file);
    int recordBytes = 12 + 5 + 4;
    for (int cut = 2 * recordBytes + 1; cut < bytes.length; cut++) {
      Path truncated = dir.resolve("cut" + cut + ".tfrecord");
      Files.write(truncated, Arrays.copyOf(bytes, cut));
      assertCorruptAfter(truncated, 2, "record 2: truncated (file ends inside the record)");
    }
  }

  /** {@code good} records read, and the next fails with "FILE: {@code expected}". */
  private static void assertCorruptAfter(Path file, int good, String expected) {
    try (TfRecordReader reader = new TfRecordReader(file)) {
      for (int i = 0; i < good; i++) {
        assertTrue(reader.next() != null, "record " + i);
      }
      CorruptRecordException e = assertThrows(CorruptRecordException.class, reader::next);
      assertEquals(file + ": " + expected, e.getMessage());
    }
  }

  private Path writeThree(String name) {
    Path file = dir.resolve(name);
    try (TfRecordWriter writer = new TfRecordWriter(file)) {
      for (String s : List.of("first", "secnd", "third")) {
        writer.write(s.getBytes(StandardCharsets.US_ASCII));
      }
    }
    return file;
  }

  private static int crc32c(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    return (int) crc.getValue();
  }

  private static int mask(int crc) {
    return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
  }
}
