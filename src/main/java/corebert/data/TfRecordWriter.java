package corebert.data;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Writes TensorFlow's TFRecord framing, which TF Java 1.1.0 has no class for: per record, the
 * length as uint64 little-endian, the masked CRC32C of those 8 bytes, the data, and the masked
 * CRC32C of the data (tensorflow/core/lib/io/record_writer.cc). Not thread-safe.
 */
public final class TfRecordWriter implements AutoCloseable {
  /**
   * Added to the rotated CRC so that CRCs of data holding CRCs stay well distributed (crc32c.h).
   */
  private static final int MASK_DELTA = 0xa282ead8;

  private static final int BUFFER_BYTES = 1 << 16;

  private final Path path;
  private final OutputStream out;
  private final ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
  private final ByteBuffer footer = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
  private long records;

  /** Creates or truncates {@code path}. */
  public TfRecordWriter(Path path) {
    this.path = path;
    try {
      this.out = new BufferedOutputStream(Files.newOutputStream(path), BUFFER_BYTES);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + path, e);
    }
  }

  /** Appends one record. */
  public void write(byte[] record) {
    header.clear();
    header.putLong(record.length);
    header.putInt(maskedCrc32c(header.array(), 0, 8));
    footer.clear();
    footer.putInt(maskedCrc32c(record, 0, record.length));
    try {
      out.write(header.array());
      out.write(record);
      out.write(footer.array());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + path, e);
    }
    records++;
  }

  /** Pushes buffered records to the file, so that readers such as TensorBoard see them. */
  public void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + path, e);
    }
  }

  /** Records written so far. */
  public long records() {
    return records;
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + path, e);
    }
  }

  /** The masked CRC32C that TFRecord stores; {@link TfRecordReader} checks with the same. */
  static int maskedCrc32c(byte[] bytes, int offset, int length) {
    CRC32C c = new CRC32C();
    c.update(bytes, offset, length);
    int value = (int) c.getValue();
    return ((value >>> 15) | (value << 17)) + MASK_DELTA;
  }
}
