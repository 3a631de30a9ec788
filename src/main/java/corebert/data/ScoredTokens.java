package corebert.data;

import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;

/**
 * What the scored (masked-LM) positions of pretraining records hold: how often each token is the
 * label, and which input ids they show. google-research's masking shows [MASK] at 80% of them, the
 * original token at 10% and a random one at 10%, so the most frequent shown id is [MASK].
 *
 * @param labelCounts how many scored positions have each token as their label
 * @param labels scored positions in all (the sum of {@code labelCounts})
 * @param shownCounts how many scored positions show each input id
 */
public record ScoredTokens(Map<Long, Long> labelCounts, long labels, Map<Long, Long> shownCounts) {

  /** Counts the scored positions (weight > 0) of every record in {@code files}. */
  public static ScoredTokens count(List<Path> files) {
    Map<Long, Long> labelCounts = new HashMap<>();
    Map<Long, Long> shownCounts = new HashMap<>();
    long labels = 0;
    for (Path file : files) {
      try (TfRecordReader reader = new TfRecordReader(file)) {
        for (byte[] r = reader.next(); r != null; r = reader.next()) {
          Map<String, Feature> f = example(file, reader.index(), r).getFeatures().getFeatureMap();
          List<Long> input = f.get(PretrainingSchema.INPUT_IDS).getInt64List().getValueList();
          List<Long> positions =
              f.get(PretrainingSchema.MASKED_LM_POSITIONS).getInt64List().getValueList();
          List<Long> ids = f.get(PretrainingSchema.MASKED_LM_IDS).getInt64List().getValueList();
          List<Float> w = f.get(PretrainingSchema.MASKED_LM_WEIGHTS).getFloatList().getValueList();
          for (int i = 0; i < ids.size(); i++) {
            if (w.get(i) > 0) {
              labelCounts.merge(ids.get(i), 1L, Long::sum);
              shownCounts.merge(input.get(positions.get(i).intValue()), 1L, Long::sum);
              labels++;
            }
          }
        }
      }
    }
    if (labels == 0) {
      throw new IllegalArgumentException("no scored masked-LM positions in " + files);
    }
    return new ScoredTokens(labelCounts, labels, shownCounts);
  }

  private static Example example(Path file, long index, byte[] record) {
    try {
      return Example.parseFrom(record);
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptRecordException(
          file + ": record " + (index - 1) + " is not a tf.train.Example", e);
    }
  }

  /**
   * The id of [MASK], read off the records: the id most scored positions show. Refused when it
   * shows at under half of them, as in records not masked the google-research way.
   */
  public long maskId() {
    Map.Entry<Long, Long> top =
        shownCounts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
    if (top.getValue() * 2 < labels) {
      throw new IllegalArgumentException(
          String.format(
              "cannot tell [MASK]'s id from the records: the most frequent input at scored"
                  + " positions, id %d, shows at only %.0f%% of them (google-research's masking"
                  + " shows [MASK] at 80%%); give the vocab",
              top.getKey(), 100.0 * top.getValue() / labels));
    }
    return top.getKey();
  }

  /**
   * Mean cross-entropy, in nats, of {@code heldOut}'s scored labels under this add-one (Laplace)
   * unigram model over {@code vocabSize} tokens: the loss of a model that uses no context.
   */
  public double unigramLoss(ScoredTokens heldOut, int vocabSize) {
    double denominator = labels + (double) vocabSize;
    double sum = 0;
    for (Map.Entry<Long, Long> e : heldOut.labelCounts.entrySet()) {
      double p = (labelCounts.getOrDefault(e.getKey(), 0L) + 1) / denominator;
      sum -= e.getValue() * Math.log(p);
    }
    return sum / heldOut.labels;
  }

  /** Accuracy on {@code heldOut}'s scored labels of always guessing this model's top token. */
  public double unigramAccuracy(ScoredTokens heldOut) {
    long top =
        labelCounts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    return heldOut.labelCounts.getOrDefault(top, 0L) / (double) heldOut.labels;
  }
}
