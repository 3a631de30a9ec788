package corebert.export;

import java.util.Locale;

/** What an export writes: a TensorFlow SavedModel, or a Hugging Face transformers directory. */
public enum ExportFormat {
  SAVEDMODEL,
  HUGGINGFACE;

  /** savedmodel or huggingface. */
  public static ExportFormat parse(String name) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "format must be savedmodel or huggingface, got '" + name + "'");
    }
  }
}
