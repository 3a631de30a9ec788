package corebert.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams the records of one TFRecord file, checking both CRCs of every record. Damage is reported
 * as {@link CorruptRecordException} naming the file and the 0-based record index, for example
 * {@code data/x.tfrecord: record 17: data CRC mismatch}. Not thread-safe.
 */
public final class TfRecordReader implements AutoCloseable {
  /** Larger lengths can only come from damage, and would not fit a Java array anyway. */
  private static final long MAX_RECORD_BYTES = Integer.MAX_VALUE - 64;

  private final Path path;
  private final InputStream in;
  private final byte[] header = new byte[12];
  private final byte[] footer = new byte[4];
  private long index;

  /** Opens {@code path} for reading. */
  public TfRecordReader(Path path) {
    this.path = path;
    try {
      this.in = new BufferedInputStream(Files.newInputStream(path), 1 << 16);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open " + path, e);
    }
  }

  /**
   * Returns the next record, or null at the end of the file.
   *
   * @throws CorruptRecordException on a CRC mismatch or a file that ends inside a record
   */
  public byte[] next() {
    int got = readFully(header);
    if (got == 0) {
      return null;
    }
    if (got < header.length) {
      throw corrupt("truncated (file ends inside the record)");
    }
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    long length = h.getLong(0);
    if (h.getInt(8) != TfRecordWriter.maskedCrc32c(header, 0, 8)) {
      throw corrupt("length CRC mismatch");
    }
    if (length < 0 || length > MAX_RECORD_BYTES) {
      throw corrupt("record length " + Long.toUnsignedString(length) + " is impossible");
    }
    byte[] data = new byte[(int) length];
    if (readFully(data) < data.length || readFully(footer) < footer.length) {
      throw corrupt("truncated (file ends inside the record)");
    }
    int stored = ByteBuffer.wrap(footer).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    if (stored != TfRecordWriter.maskedCrc32c(data, 0, data.length)) {
      throw corrupt("data CRC mismatch");
    }
    index++;
    return data;
  }

  /** The 0-based index of the record the next call to {@link #next()} returns. */
  public long index() {
    return index;
  }

  /** The file being read, for messages. */
  public Path path() {
    return path;
  }

  @Override
  public void close() {
    try {
      in.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + path, e);
    }
  }

  private int readFully(byte[] buffer) {
    try {
      return in.readNBytes(buffer, 0, buffer.length);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + path, e);
    }
  }

  private CorruptRecordException corrupt(String what) {
    return new CorruptRecordException(path + ": record " + index + ": " + what);
  }
}
