package corebert.data;

/**
 * A TFRecord file or one of its records is damaged: bad CRC, truncation, or a record that does not
 * follow the pretraining schema. The message starts with `file: record N:` so the user can find it.
 */
public final class CorruptRecordException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public CorruptRecordException(String message) {
    super(message);
  }

  public CorruptRecordException(String message, Throwable cause) {
    super(message, cause);
  }
}
