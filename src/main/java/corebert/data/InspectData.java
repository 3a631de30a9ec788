package corebert.data;

import com.google.protobuf.InvalidProtocolBufferException;
import corebert.util.Jackson;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.StringJoiner;
import java.util.logging.Logger;
import org.tensorflow.proto.Example;

/**
 * Checks pretraining TFRecords end to end before hours of training depend on them: every record's
 * CRCs, that it parses as an Example, and that it follows {@link PretrainingSchema} with the
 * lengths of the first record. The first problem stops the scan with an exception naming the file
 * and the 0-based record index.
 */
public final class InspectData {
  private static final Logger LOG = Logger.getLogger(InspectData.class.getName());

  /** What was checked; {@link #toJson()} is the last stdout line of {@code inspect-data}. */
  public record Summary(int files, long records, int maxSeqLength, int maxPredictionsPerSeq) {
    public String toJson() {
      return Jackson.write(this);
    }
  }

  private InspectData() {}

  /**
   * Validates every record of {@code files} and prints the first {@code limit} of them decoded.
   *
   * @param vocab decodes token ids to tokens; null prints ids
   * @param out where the examples go (stdout for the CLI); the summary line is not printed here
   * @throws IllegalArgumentException naming file and record at the first damaged or mis-shaped
   *     record, or when the files hold no record at all
   */
  public static Summary run(List<Path> files, int limit, Vocab vocab, PrintStream out) {
    long records = 0;
    int[] lengths = null;
    for (Path file : files) {
      long inFile = 0;
      try (TfRecordReader reader = new TfRecordReader(file)) {
        for (byte[] bytes = reader.next(); bytes != null; bytes = reader.next()) {
          String where = file + ": record " + inFile;
          Example ex = parse(bytes, where);
          if (lengths == null) {
            lengths = inferLengths(ex, where);
            LOG.info(
                "lengths from "
                    + where
                    + ": max_seq_length "
                    + lengths[0]
                    + ", max_predictions_per_seq "
                    + lengths[1]);
          }
          PretrainingSchema.validate(ex, lengths[0], lengths[1], where);
          if (records < limit) {
            print(ex, where, records, vocab, out);
          }
          inFile++;
          records++;
        }
      }
      LOG.fine(file + ": " + inFile + " records");
    }
    if (lengths == null) {
      throw new IllegalArgumentException("no records in " + files);
    }
    return new Summary(files.size(), records, lengths[0], lengths[1]);
  }

  private static Example parse(byte[] bytes, String where) {
    try {
      return Example.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptRecordException(
          where + ": not a tf.train.Example (" + e.getMessage() + ")", e);
    }
  }

  private static int[] inferLengths(Example ex, String where) {
    try {
      return PretrainingSchema.inferLengths(ex);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
  }

  private static void print(Example ex, String where, long n, Vocab vocab, PrintStream out) {
    long[] ids = ints(ex, PretrainingSchema.INPUT_IDS);
    long[] mask = ints(ex, PretrainingSchema.INPUT_MASK);
    long[] segments = ints(ex, PretrainingSchema.SEGMENT_IDS);
    long[] positions = ints(ex, PretrainingSchema.MASKED_LM_POSITIONS);
    long[] labels = ints(ex, PretrainingSchema.MASKED_LM_IDS);
    List<Float> weights =
        ex.getFeatures()
            .getFeatureOrThrow(PretrainingSchema.MASKED_LM_WEIGHTS)
            .getFloatList()
            .getValueList();
    int length = 0;
    while (length < mask.length && mask[length] != 0) {
      length++;
    }
    int predictions = 0;
    while (predictions < weights.size() && weights.get(predictions) != 0f) {
      predictions++;
    }
    StringJoiner tokens = new StringJoiner(" ");
    StringJoiner segmentText = new StringJoiner(" ");
    for (int i = 0; i < length; i++) {
      tokens.add(decode(ids[i], vocab));
      segmentText.add(Long.toString(segments[i]));
    }
    StringJoiner positionText = new StringJoiner(" ");
    StringJoiner labelText = new StringJoiner(" ");
    for (int k = 0; k < predictions; k++) {
      positionText.add(Long.toString(positions[k]));
      labelText.add(decode(labels[k], vocab));
    }
    long nsp = ints(ex, PretrainingSchema.NEXT_SENTENCE_LABELS)[0];
    out.println("example " + n + " (" + where + ")");
    out.println("  tokens: " + tokens);
    out.println("  segment_ids: " + segmentText);
    out.println("  masked_lm_positions: " + positionText);
    out.println("  masked_lm_labels: " + labelText);
    out.println("  is_random_next: " + (nsp == 1));
    out.println();
  }

  private static String decode(long id, Vocab vocab) {
    if (vocab == null) {
      return Long.toString(id);
    }
    return id >= 0 && id < vocab.size() ? vocab.token((int) id) : "<" + id + "?>";
  }

  private static long[] ints(Example ex, String name) {
    return ex.getFeatures().getFeatureOrThrow(name).getInt64List().getValueList().stream()
        .mapToLong(Long::longValue)
        .toArray();
  }
}
