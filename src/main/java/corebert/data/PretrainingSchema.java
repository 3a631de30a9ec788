package corebert.data;

import corebert.model.Endpoints;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.FloatList;
import org.tensorflow.proto.Int64List;

/**
 * The TFRecord schema of google-research/bert's {@code create_pretraining_data.py}, byte for byte,
 * so records move both ways between that script and corebert. Every feature is a fixed-length list
 * padded with 0; the names below are also the feed names of the input pipeline.
 */
public final class PretrainingSchema {
  // Feature keys equal the model's input endpoint names, as in google-research/bert.
  /** int64 [max_seq_length]: token ids of {@code [CLS] A [SEP] B [SEP]}, masked, 0-padded. */
  public static final String INPUT_IDS = Endpoints.INPUT_IDS;

  /** int64 [max_seq_length]: 1 for real tokens, 0 for padding. */
  public static final String INPUT_MASK = Endpoints.INPUT_MASK;

  /** int64 [max_seq_length]: 0 for segment A (with [CLS] and its [SEP]), 1 for segment B. */
  public static final String SEGMENT_IDS = Endpoints.SEGMENT_IDS;

  /** int64 [max_predictions_per_seq]: positions the MLM head predicts, 0-padded. */
  public static final String MASKED_LM_POSITIONS = Endpoints.MASKED_LM_POSITIONS;

  /** int64 [max_predictions_per_seq]: original token ids at those positions, 0-padded. */
  public static final String MASKED_LM_IDS = Endpoints.MASKED_LM_IDS;

  /** float [max_predictions_per_seq]: 1.0 for a real prediction, 0.0 for padding. */
  public static final String MASKED_LM_WEIGHTS = Endpoints.MASKED_LM_WEIGHTS;

  /** int64 [1]: 1 when segment B is a random next sentence, 0 when it really follows A. */
  public static final String NEXT_SENTENCE_LABELS = Endpoints.NEXT_SENTENCE_LABELS;

  /** Every int64 feature, in the order BERT writes them. */
  public static final List<String> INT64_FEATURES =
      List.of(
          INPUT_IDS,
          INPUT_MASK,
          SEGMENT_IDS,
          MASKED_LM_POSITIONS,
          MASKED_LM_IDS,
          NEXT_SENTENCE_LABELS);

  private PretrainingSchema() {}

  /**
   * Pads {@code inst} into an Example the way {@code write_instance_to_example_files} does: the
   * sequence features to {@code maxSeq} and the prediction features to {@code maxPred}, with 0.
   *
   * @throws IllegalArgumentException when the instance is longer than either limit
   */
  public static Example toExample(TrainingInstance inst, int maxSeq, int maxPred) {
    int length = inst.inputIds().length;
    int predictions = inst.maskedLmPositions().length;
    if (length > maxSeq) {
      throw new IllegalArgumentException(
          "instance has " + length + " tokens, more than max_seq_length " + maxSeq);
    }
    if (predictions > maxPred) {
      throw new IllegalArgumentException(
          "instance has "
              + predictions
              + " masked positions, more than max_predictions_per_seq "
              + maxPred);
    }
    long[] inputMask = new long[maxSeq];
    Arrays.fill(inputMask, 0, length, 1L);
    float[] weights = new float[maxPred];
    Arrays.fill(weights, 0, predictions, 1.0f);
    return Example.newBuilder()
        .setFeatures(
            Features.newBuilder()
                .putFeature(INPUT_IDS, int64(inst.inputIds(), maxSeq))
                .putFeature(INPUT_MASK, int64(inputMask))
                .putFeature(SEGMENT_IDS, int64(inst.segmentIds(), maxSeq))
                .putFeature(MASKED_LM_POSITIONS, int64(inst.maskedLmPositions(), maxPred))
                .putFeature(MASKED_LM_IDS, int64(inst.maskedLmIds(), maxPred))
                .putFeature(MASKED_LM_WEIGHTS, floats(weights))
                .putFeature(NEXT_SENTENCE_LABELS, int64(new long[] {inst.isRandomNext() ? 1 : 0})))
        .build();
  }

  /**
   * Checks that {@code ex} has every feature with the right type and length, that masked positions
   * lie inside the sequence and that the next-sentence label is 0 or 1.
   *
   * @param where prefix of the error message, such as {@code file.tfrecord: record 5}
   * @throws IllegalArgumentException naming {@code where}, the feature, and expected vs actual
   */
  public static void validate(Example ex, int maxSeq, int maxPred, String where) {
    Map<String, Feature> features = ex.getFeatures().getFeatureMap();
    for (String name : INT64_FEATURES) {
      int expected =
          name.equals(NEXT_SENTENCE_LABELS) ? 1 : name.startsWith("masked_lm_") ? maxPred : maxSeq;
      requireShape(features, name, Feature.KindCase.INT64_LIST, expected, where);
    }
    requireShape(features, MASKED_LM_WEIGHTS, Feature.KindCase.FLOAT_LIST, maxPred, where);
    List<Long> positions = features.get(MASKED_LM_POSITIONS).getInt64List().getValueList();
    for (int i = 0; i < positions.size(); i++) {
      long p = positions.get(i);
      if (p < 0 || p >= maxSeq) {
        throw new IllegalArgumentException(
            where
                + ": feature '"
                + MASKED_LM_POSITIONS
                + "': value "
                + p
                + " at index "
                + i
                + " is outside [0, "
                + maxSeq
                + ")");
      }
    }
    long label = features.get(NEXT_SENTENCE_LABELS).getInt64List().getValue(0);
    if (label != 0 && label != 1) {
      throw new IllegalArgumentException(
          where + ": feature '" + NEXT_SENTENCE_LABELS + "': expected 0 or 1, got " + label);
    }
  }

  /**
   * Reads {max_seq_length, max_predictions_per_seq} from the lengths of {@code input_ids} and
   * {@code masked_lm_positions}, so tools need not be told how the data was made.
   *
   * @throws IllegalArgumentException when either feature is missing or not an int64 list
   */
  public static int[] inferLengths(Example ex) {
    Map<String, Feature> features = ex.getFeatures().getFeatureMap();
    return new int[] {int64Length(features, INPUT_IDS), int64Length(features, MASKED_LM_POSITIONS)};
  }

  private static int int64Length(Map<String, Feature> features, String name) {
    Feature f = features.get(name);
    if (f == null || f.getKindCase() != Feature.KindCase.INT64_LIST) {
      throw new IllegalArgumentException(
          "cannot infer lengths: feature '" + name + "' is " + describe(f) + ", not int64_list");
    }
    return f.getInt64List().getValueCount();
  }

  private static void requireShape(
      Map<String, Feature> features, String name, Feature.KindCase kind, int length, String where) {
    Feature f = features.get(name);
    String expected = kind.name().toLowerCase(Locale.ROOT) + " of length " + length;
    if (f == null || f.getKindCase() != kind) {
      throw new IllegalArgumentException(
          where + ": feature '" + name + "': expected " + expected + ", got " + describe(f));
    }
    int actual =
        kind == Feature.KindCase.INT64_LIST
            ? f.getInt64List().getValueCount()
            : f.getFloatList().getValueCount();
    if (actual != length) {
      throw new IllegalArgumentException(
          where + ": feature '" + name + "': expected " + expected + ", got length " + actual);
    }
  }

  private static String describe(Feature f) {
    if (f == null) {
      return "missing";
    }
    return f.getKindCase() == Feature.KindCase.KIND_NOT_SET
        ? "empty"
        : f.getKindCase().name().toLowerCase(Locale.ROOT);
  }

  private static Feature int64(int[] values, int paddedLength) {
    Int64List.Builder list = Int64List.newBuilder();
    for (int v : values) {
      list.addValue(v);
    }
    for (int i = values.length; i < paddedLength; i++) {
      list.addValue(0L);
    }
    return Feature.newBuilder().setInt64List(list).build();
  }

  private static Feature int64(long[] values) {
    Int64List.Builder list = Int64List.newBuilder();
    for (long v : values) {
      list.addValue(v);
    }
    return Feature.newBuilder().setInt64List(list).build();
  }

  private static Feature floats(float[] values) {
    FloatList.Builder list = FloatList.newBuilder();
    for (float v : values) {
      list.addValue(v);
    }
    return Feature.newBuilder().setFloatList(list).build();
  }
}
