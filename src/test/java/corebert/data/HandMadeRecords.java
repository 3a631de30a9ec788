package corebert.data;

import java.nio.file.Path;
import java.util.function.IntUnaryOperator;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Features;

/** Pretraining records written by hand, in google-research's layout, for evaluation tests. */
public final class HandMadeRecords {
  private HandMadeRecords() {}

  /**
   * Writes six records of 8 tokens (ids up to 14), each scoring positions 3 and 5 (a third
   * prediction is padding, weight 0, at position 0); {@code shown} gives the id a scored position
   * shows for its label. Returns {@code file}.
   */
  public static Path write(Path file, IntUnaryOperator shown) {
    try (TfRecordWriter w = new TfRecordWriter(file)) {
      for (int r = 0; r < 6; r++) {
        long[] ids = {2, 5 + r, 6 + r, 7 + r, 8 + r, 9 + r, 10, 3};
        long[] labels = {ids[3], ids[5], 0};
        ids[3] = shown.applyAsInt((int) labels[0]);
        ids[5] = shown.applyAsInt((int) labels[1]);
        Features.Builder f =
            Features.newBuilder()
                .putFeature("input_ids", PretrainingSchemaTest.ints(ids))
                .putFeature("input_mask", PretrainingSchemaTest.ints(1, 1, 1, 1, 1, 1, 1, 1))
                .putFeature("segment_ids", PretrainingSchemaTest.ints(0, 0, 0, 0, 1, 1, 1, 1))
                .putFeature("masked_lm_positions", PretrainingSchemaTest.ints(3, 5, 0))
                .putFeature("masked_lm_ids", PretrainingSchemaTest.ints(labels))
                .putFeature("masked_lm_weights", PretrainingSchemaTest.floats(1, 1, 0))
                .putFeature("next_sentence_labels", PretrainingSchemaTest.ints(r % 2));
        w.write(Example.newBuilder().setFeatures(f).build().toByteArray());
      }
    }
    return file;
  }
}
