package corebert.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.FloatList;
import org.tensorflow.proto.Int64List;

class PretrainingSchemaTest {

  /** What create_pretraining_data.py writes for max_seq_length 8, max_predictions_per_seq 3. */
  static Features.Builder bertLayout() {
    return Features.newBuilder()
        .putFeature("input_ids", ints(2, 7, 4, 3, 9, 10, 3, 0))
        .putFeature("input_mask", ints(1, 1, 1, 1, 1, 1, 1, 0))
        .putFeature("segment_ids", ints(0, 0, 0, 0, 1, 1, 1, 0))
        .putFeature("masked_lm_positions", ints(2, 0, 0))
        .putFeature("masked_lm_ids", ints(8, 0, 0))
        .putFeature("masked_lm_weights", floats(1f, 0f, 0f))
        .putFeature("next_sentence_labels", ints(1));
  }

  @Test
  void bertLayoutPassesAndLengthsAreInferred() {
    Example ex = Example.newBuilder().setFeatures(bertLayout()).build();
    PretrainingSchema.validate(ex, 8, 3, "x.tfrecord: record 0");
    assertArrayEquals(new int[] {8, 3}, PretrainingSchema.inferLengths(ex));
  }

  @Test
  void wrongLengthInputIdsIsNamed() {
    Example ex =
        Example.newBuilder()
            .setFeatures(bertLayout().putFeature("input_ids", ints(2, 7, 4, 3, 9, 10, 3)))
            .build();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> PretrainingSchema.validate(ex, 8, 3, "x.tfrecord: record 5"));
    assertEquals(
        "x.tfrecord: record 5: feature 'input_ids': expected int64_list of length 8, got length 7",
        e.getMessage());
  }

  @Test
  void missingAndMistypedFeaturesAreNamed() {
    Example missing =
        Example.newBuilder().setFeatures(bertLayout().removeFeature("segment_ids")).build();
    assertEquals(
        "r: feature 'segment_ids': expected int64_list of length 8, got missing",
        assertThrows(
                IllegalArgumentException.class,
                () -> PretrainingSchema.validate(missing, 8, 3, "r"))
            .getMessage());
    Example mistyped =
        Example.newBuilder()
            .setFeatures(bertLayout().putFeature("masked_lm_weights", ints(1, 0, 0)))
            .build();
    assertEquals(
        "r: feature 'masked_lm_weights': expected float_list of length 3, got int64_list",
        assertThrows(
                IllegalArgumentException.class,
                () -> PretrainingSchema.validate(mistyped, 8, 3, "r"))
            .getMessage());
  }

  @Test
  void outOfRangeValuesAreRejected() {
    Example position =
        Example.newBuilder()
            .setFeatures(bertLayout().putFeature("masked_lm_positions", ints(8, 0, 0)))
            .build();
    assertThrows(
        IllegalArgumentException.class, () -> PretrainingSchema.validate(position, 8, 3, "r"));
    Example label =
        Example.newBuilder()
            .setFeatures(bertLayout().putFeature("next_sentence_labels", ints(2)))
            .build();
    assertThrows(
        IllegalArgumentException.class, () -> PretrainingSchema.validate(label, 8, 3, "r"));
  }

  @Test
  void toExamplePadsLikeBert() {
    TrainingInstance inst =
        new TrainingInstance(
            new int[] {2, 7, 4, 3, 9, 10, 3},
            new int[] {0, 0, 0, 0, 1, 1, 1},
            new int[] {2},
            new int[] {8},
            true);
    Example ex = PretrainingSchema.toExample(inst, 8, 3);
    assertEquals(Example.newBuilder().setFeatures(bertLayout()).build(), ex);
    PretrainingSchema.validate(ex, 8, 3, "built");
    assertThrows(IllegalArgumentException.class, () -> PretrainingSchema.toExample(inst, 6, 3));
  }

  static Feature ints(long... values) {
    List<Long> list = Arrays.stream(values).boxed().collect(Collectors.toList());
    return Feature.newBuilder().setInt64List(Int64List.newBuilder().addAllValue(list)).build();
  }

  static Feature floats(float... values) {
    FloatList.Builder list = FloatList.newBuilder();
    for (float v : values) {
      list.addValue(v);
    }
    return Feature.newBuilder().setFloatList(list).build();
  }
}
