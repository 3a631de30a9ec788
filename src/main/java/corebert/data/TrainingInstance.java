package corebert.data;

import java.util.Arrays;

/**
 * One sentence pair after masking, as token ids (BERT's {@code TrainingInstance} holds strings; ids
 * keep the per-shard buffers small). Arrays are owned by the instance and must not be changed.
 *
 * @param inputIds {@code [CLS] A [SEP] B [SEP]} with masked positions already replaced, unpadded
 * @param segmentIds 0 for {@code [CLS] A [SEP]}, 1 for {@code B [SEP]}; same length as inputIds
 * @param maskedLmPositions ascending indexes into inputIds that the MLM head predicts
 * @param maskedLmIds the original token id at each masked position
 * @param isRandomNext true when B was taken from another document (next_sentence_labels = 1)
 */
public record TrainingInstance(
    int[] inputIds,
    int[] segmentIds,
    int[] maskedLmPositions,
    int[] maskedLmIds,
    boolean isRandomNext) {

  public TrainingInstance {
    if (inputIds.length != segmentIds.length) {
      throw new IllegalArgumentException(
          "inputIds has " + inputIds.length + " ids but segmentIds has " + segmentIds.length);
    }
    if (maskedLmPositions.length != maskedLmIds.length) {
      throw new IllegalArgumentException(
          "maskedLmPositions has "
              + maskedLmPositions.length
              + " entries but maskedLmIds has "
              + maskedLmIds.length);
    }
  }

  @Override
  public String toString() {
    return "TrainingInstance[inputIds="
        + Arrays.toString(inputIds)
        + ", segmentIds="
        + Arrays.toString(segmentIds)
        + ", maskedLmPositions="
        + Arrays.toString(maskedLmPositions)
        + ", maskedLmIds="
        + Arrays.toString(maskedLmIds)
        + ", isRandomNext="
        + isRandomNext
        + "]";
  }
}
