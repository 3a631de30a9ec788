package corebert.cli;

/** A flag is missing, malformed or out of range; the launcher prints it with exit code 2. */
public final class UsageException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
