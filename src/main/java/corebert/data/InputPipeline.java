package corebert.data;

import com.google.protobuf.InvalidProtocolBufferException;
import corebert.model.Endpoints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.data.Iterator;
import org.tensorflow.op.io.ParseExample;
import org.tensorflow.proto.Example;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * The in-graph input pipeline for pretraining TFRecords: batches never cross the JVM. Training
 * reads every shard as its own TFRecordDataset, interleaves them round-robin (DirectedInterleave,
 * because TF Java functions cannot return the DT_VARIANT datasets that InterleaveDataset needs),
 * shuffles with a seed fed per epoch, skips the records a resumed run already consumed, batches
 * with drop-remainder and prefetches. One epoch is one pass; the trainer starts the next one with a
 * new seed, so a run can resume at its exact position: (epoch, records consumed in it). Evaluation
 * reads the files once, in order, keeping the last partial batch.
 *
 * <p>Dimensions: B batch, T max_seq_length, P max_predictions_per_seq.
 */
public final class InputPipeline {
  /** Read-ahead per file, as tf.data's default. */
  private static final long READ_BUFFER_BYTES = 256 * 1024;

  /** Batches prepared ahead of the step. */
  private static final long PREFETCH_BATCHES = 2;

  /** Every dataset here yields one string: a serialized tf.Example, or a batch of them. */
  private static final List<Class<? extends TType>> STRING = List.of(TString.class);

  private static final List<Shape> SCALAR = List.of(Shape.scalar());

  /** One parsed batch, ids cast to int32 as BERT's input_fn does. */
  public record Batch(
      Operand<TInt32> inputIds, // [B, T]
      Operand<TInt32> inputMask, // [B, T]
      Operand<TInt32> segmentIds, // [B, T]
      Operand<TInt32> maskedLmPositions, // [B, P]
      Operand<TInt32> maskedLmIds, // [B, P]
      Operand<TFloat32> maskedLmWeights, // [B, P]
      Operand<TInt32> nextSentenceLabels) { // [B]

    /**
     * This batch with {@code maskId} shown at every scored position (weight > 0), whatever the
     * records show there: the 10% of scored tokens that google-research's masking leaves visible
     * can then not be copied, so the masked-LM loss measures what the context tells.
     */
    public Batch withScoredPositionsShowing(Ops tf, int maskId) {
      Operand<TInt32> seq = tf.gather(tf.shape(inputIds), tf.constant(1), tf.constant(0)); // T
      Operand<TInt32> scored = // [B, P]: 1 for a scored prediction, 0 for padding
          tf.dtypes.cast(tf.math.greater(maskedLmWeights, tf.constant(0f)), TInt32.class);
      // [B, P, T]: a one at each scored prediction's position.
      Operand<TInt32> hits =
          tf.math.mul(
              tf.oneHot(maskedLmPositions, seq, tf.constant(1), tf.constant(0)),
              tf.expandDims(scored, tf.constant(-1)));
      Operand<TBool> isScored =
          tf.math.greater(tf.sum(hits, tf.constant(1)), tf.constant(0)); // [B, T]
      Operand<TInt32> ids =
          tf.select(isScored, tf.fill(tf.shape(inputIds), tf.constant(maskId)), inputIds);
      return new Batch(
          ids,
          inputMask,
          segmentIds,
          maskedLmPositions,
          maskedLmIds,
          maskedLmWeights,
          nextSentenceLabels);
    }
  }

  /**
   * The pipeline's ops. Run {@code init} before the first step of each epoch and after every
   * restore (which marks the iterator as initialised without running it). Training feeds the
   * epoch's {@code shuffleSeed} and, on resume, the records to {@code skip}; both default to 0.
   */
  public record Pipeline(Batch batch, Op init, Operand<TInt64> shuffleSeed, Operand<TInt64> skip) {}

  /**
   * Lengths every record of a data set shares, and the largest token id seen in the first record of
   * each file (a cheap check that the data's vocab fits the model's).
   */
  public record DataShape(int maxSeqLength, int maxPredictions, long maxTokenId) {}

  /**
   * Shard {@code index} of {@code count} of the input, read by its own pipeline (on a cluster, on
   * its own task). Sharding is by file when there are at least as many files as shards (shard i
   * reads files i, i + count, ...), else by record. With a {@code limit}, an epoch of the shard
   * ends after that many records, so that shards of different sizes end their epochs together.
   */
  public record Shard(int index, int count, long limit) {
    public static final Shard ALL = new Shard(0, 1);

    public Shard {
      if (count < 1 || index < 0 || index >= count) {
        throw new IllegalArgumentException("shard " + index + " of " + count);
      }
    }

    /** No limit: every record of the shard, each epoch. */
    public Shard(int index, int count) {
      this(index, count, -1);
    }

    /**
     * The records in the smallest of the {@code count} shards of {@code all}: the limit that gives
     * every shard the same number of records per epoch.
     */
    public static long smallest(List<Path> all, int count) {
      long[] perFile = new long[all.size()];
      for (int i = 0; i < perFile.length; i++) {
        perFile[i] = records(all.get(i));
      }
      long total = Arrays.stream(perFile).sum();
      if (all.size() < count) {
        return total / count; // by record: shard sizes differ by at most one
      }
      long min = Long.MAX_VALUE;
      for (int s = 0; s < count; s++) {
        long n = 0;
        for (int i = s; i < perFile.length; i += count) {
          n += perFile[i];
        }
        min = Math.min(min, n);
      }
      return min;
    }

    public Shard withLimit(long records) {
      return new Shard(index, count, records);
    }

    boolean byFile(int files) {
      return files >= count;
    }

    /** The files this shard reads: all of them when it shards by record. */
    public List<Path> files(List<Path> all) {
      if (!byFile(all.size())) {
        return all;
      }
      List<Path> mine = new ArrayList<>();
      for (int i = index; i < all.size(); i += count) {
        mine.add(all.get(i));
      }
      return mine;
    }
  }

  private InputPipeline() {}

  /** The records in {@code file}, walking its framing. */
  private static long records(Path file) {
    long n = 0;
    try (TfRecordReader reader = new TfRecordReader(file)) {
      while (reader.next() != null) {
        n++;
      }
    }
    return n;
  }

  /**
   * The first record of {@code file} as a tf.train.Example. The rest is walked for framing and CRC
   * errors now (GB/s), rather than failing mid-run with a message from TF that does not name the
   * file.
   */
  private static Example firstExample(Path file) {
    byte[] record;
    try (TfRecordReader reader = new TfRecordReader(file)) {
      record = reader.next();
      while (reader.next() != null) {}
    }
    if (record == null) {
      throw new IllegalArgumentException(file + ": holds no records");
    }
    try {
      return Example.parseFrom(record);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(file + ": record 0 is not a tf.train.Example", e);
    }
  }

  /**
   * Checks every record's framing and CRC, the first record's schema, and that all files agree on
   * their lengths, so that a wrong or mixed input fails before training, naming the file.
   */
  public static DataShape inspect(List<Path> files) {
    DataShape shape = null;
    Path first = null;
    for (Path file : files) {
      Example ex = firstExample(file);
      int[] lengths;
      try {
        lengths = PretrainingSchema.inferLengths(ex);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(file + ": record 0: " + e.getMessage(), e);
      }
      long maxId =
          ex
              .getFeatures()
              .getFeatureMap()
              .get(PretrainingSchema.INPUT_IDS)
              .getInt64List()
              .getValueList()
              .stream()
              .mapToLong(Long::longValue)
              .max()
              .orElse(0);
      DataShape here = new DataShape(lengths[0], lengths[1], maxId);
      PretrainingSchema.validate(
          ex, here.maxSeqLength(), here.maxPredictions(), file + ": record 0");
      if (shape == null) {
        shape = here;
        first = file;
      } else if (shape.maxSeqLength() != here.maxSeqLength()
          || shape.maxPredictions() != here.maxPredictions()) {
        throw new IllegalArgumentException(
            file
                + ": max_seq_length/max_predictions "
                + here.maxSeqLength()
                + "/"
                + here.maxPredictions()
                + " differ from "
                + first
                + "'s "
                + shape.maxSeqLength()
                + "/"
                + shape.maxPredictions());
      }
      shape =
          new DataShape(
              shape.maxSeqLength(), shape.maxPredictions(), Math.max(shape.maxTokenId(), maxId));
    }
    return shape;
  }

  /**
   * @param files TFRecord shards in google-research/bert's schema
   * @param batchSize records per batch of this pipeline
   * @param training one shuffled epoch per init; otherwise one ordered pass
   * @param shuffleBuffer records held for shuffling (training only)
   * @param shard the part of {@code files} this pipeline reads (training only)
   */
  public static Pipeline build(
      Ops tf,
      List<Path> files,
      int batchSize,
      int maxSeqLength,
      int maxPredictions,
      boolean training,
      int shuffleBuffer,
      Shard shard) {
    if (files.isEmpty()) {
      throw new IllegalArgumentException("no input files");
    }
    boolean byRecord = shard.count() > 1 && !shard.byFile(files.size());
    files = shard.files(files);
    Ops in = tf.withSubScope(shard.count() == 1 ? "input" : "input_shard_" + shard.index());
    Operand<TInt64> seed =
        in.withName("shuffle_seed").placeholderWithDefault(in.constant(0L), Shape.scalar());
    Operand<TInt64> skip =
        in.withName("skip_records").placeholderWithDefault(in.constant(0L), Shape.scalar());
    Operand<? extends TType> records =
        training
            ? trainingRecords(in, files, byRecord, shard, shuffleBuffer, seed, skip)
            : in.data.repeatDataset(
                // One pass; the RepeatDataset(1) gives the raw V1 reader's output the full type
                // that BatchDataset's type inference expects.
                tfRecordDataset(
                    in,
                    in.constant(
                        NdArrays.vectorOfObjects(
                            files.stream().map(Path::toString).toArray(String[]::new)))),
                in.constant(1L),
                STRING,
                SCALAR);
    Shape batchShape = Shape.of(training ? batchSize : -1);
    Operand<? extends TType> batches =
        in.data.batchDataset(
            records,
            in.constant((long) batchSize),
            in.constant(training),
            STRING,
            List.of(batchShape));
    batches =
        in.data.prefetchDataset(
            batches, in.constant(PREFETCH_BATCHES), STRING, List.of(batchShape));
    Iterator iterator = in.data.iterator("", "", STRING, List.of(batchShape));
    Op init = in.withName(Endpoints.INPUT_INIT).data.makeIterator(batches, iterator);
    @SuppressWarnings("unchecked")
    Operand<TString> serialized =
        (Operand<TString>)
            in.data.iteratorGetNext(iterator, STRING, List.of(batchShape)).components().get(0);
    return new Pipeline(parse(tf, serialized, maxSeqLength, maxPredictions), init, seed, skip);
  }

  /**
   * Training records: the files round-robin (an exhausted file drops out, and the epoch ends with
   * the last), this task's share of them by record when {@code byRecord}, shuffled with {@code
   * seed}, cut to {@code shard.limit()} when it has one, the first {@code skip} dropped (a resumed
   * epoch).
   */
  private static Operand<? extends TType> trainingRecords(
      Ops in,
      List<Path> files,
      boolean byRecord,
      Shard shard,
      int shuffleBuffer,
      Operand<TInt64> seed,
      Operand<TInt64> skip) {
    List<Operand<? extends TType>> shards = new ArrayList<>();
    for (Path file : files) {
      shards.add(tfRecordDataset(in, in.constant(file.toString())));
    }
    long[] order = new long[files.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Operand<? extends TType> selector =
        in.data.repeatDataset(
            in.data.tensorSliceDataset(List.of(in.constant(order)), SCALAR),
            in.constant(-1L),
            List.of(TInt64.class),
            SCALAR);
    Operand<? extends TType> records =
        in.data.directedInterleaveDataset(selector, shards, STRING, SCALAR);
    if (byRecord) {
      records =
          in.data.shardDataset(
              records,
              in.constant((long) shard.count()),
              in.constant((long) shard.index()),
              STRING,
              SCALAR);
    }
    records =
        in.data.shuffleDataset(
            records,
            in.constant((long) shuffleBuffer),
            seed,
            in.constant(0L),
            in.random.dummySeedGenerator(),
            STRING,
            SCALAR);
    if (shard.limit() >= 0) {
      // After the shuffle: each epoch a new random subset, and the order of an unlimited shard.
      records = in.data.takeDataset(records, in.constant(shard.limit()), STRING, SCALAR);
    }
    return in.data.skipDataset(records, skip, STRING, SCALAR);
  }

  /** The rows of {@code parts}, one after the other: [sum of B, ...]. */
  public static Batch concat(Ops tf, List<Batch> parts) {
    if (parts.size() == 1) {
      return parts.get(0);
    }
    Operand<TInt32> rows = tf.constant(0);
    return new Batch(
        tf.concat(parts.stream().map(Batch::inputIds).toList(), rows),
        tf.concat(parts.stream().map(Batch::inputMask).toList(), rows),
        tf.concat(parts.stream().map(Batch::segmentIds).toList(), rows),
        tf.concat(parts.stream().map(Batch::maskedLmPositions).toList(), rows),
        tf.concat(parts.stream().map(Batch::maskedLmIds).toList(), rows),
        tf.concat(parts.stream().map(Batch::maskedLmWeights).toList(), rows),
        tf.concat(parts.stream().map(Batch::nextSentenceLabels).toList(), rows));
  }

  /**
   * Parses serialized Examples [B] into the BERT features. Every feature is required and must have
   * exactly its length; a record that differs fails the step with TF's message naming the key.
   */
  static Batch parse(Ops tf, Operand<TString> serialized, int maxSeq, int maxPred) {
    // ParseExample returns dense values in key order; keep the two lists aligned.
    String[] keys = {
      PretrainingSchema.INPUT_IDS,
      PretrainingSchema.INPUT_MASK,
      PretrainingSchema.SEGMENT_IDS,
      PretrainingSchema.MASKED_LM_POSITIONS,
      PretrainingSchema.MASKED_LM_IDS,
      PretrainingSchema.MASKED_LM_WEIGHTS,
      PretrainingSchema.NEXT_SENTENCE_LABELS,
    };
    List<Shape> shapes =
        List.of(
            Shape.of(maxSeq),
            Shape.of(maxSeq),
            Shape.of(maxSeq),
            Shape.of(maxPred),
            Shape.of(maxPred),
            Shape.of(maxPred),
            Shape.of(1));
    Ops p = tf.withSubScope("parse");
    Operand<TString> none = p.fill(p.constant(new long[] {0}), p.constant(""));
    List<Operand<?>> requiredDefaults = new ArrayList<>();
    for (String key : keys) {
      Class<? extends TType> type =
          key.equals(PretrainingSchema.MASKED_LM_WEIGHTS) ? TFloat32.class : TInt64.class;
      requiredDefaults.add(p.zeros(p.constant(new long[] {0}), type));
    }
    ParseExample parsed =
        p.io.parseExample(
            serialized,
            none,
            none,
            p.constant(NdArrays.vectorOfObjects(keys)),
            none,
            requiredDefaults,
            0L,
            List.of(),
            List.of(),
            List.of(),
            shapes);
    List<Output<?>> values = parsed.denseValues();
    return new Batch(
        toInt32(tf, values.get(0), Endpoints.INPUT_IDS),
        toInt32(tf, values.get(1), Endpoints.INPUT_MASK),
        toInt32(tf, values.get(2), Endpoints.SEGMENT_IDS),
        toInt32(tf, values.get(3), Endpoints.MASKED_LM_POSITIONS),
        toInt32(tf, values.get(4), Endpoints.MASKED_LM_IDS),
        tf.withName(Endpoints.MASKED_LM_WEIGHTS).identity(floats(values.get(5))),
        tf.withName(Endpoints.NEXT_SENTENCE_LABELS)
            .reshape(
                toInt32(tf, values.get(6), "next_sentence_label"), tf.constant(new int[] {-1})));
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> floats(Output<?> o) {
    return (Operand<TFloat32>) o;
  }

  @SuppressWarnings("unchecked")
  private static Operand<TInt32> toInt32(Ops tf, Output<?> o, String name) {
    return tf.withName(name).dtypes.cast((Operand<TInt64>) o, TInt32.class);
  }

  /** The V1 TFRecordDataset op: the generated V2 wrapper fails when its iterator starts. */
  private static Operand<? extends TType> tfRecordDataset(Ops in, Operand<TString> filenames) {
    Operation op =
        in.scope()
            .opBuilder("TFRecordDataset", "tfrecords")
            .addInput(filenames.asOutput())
            .addInput(in.constant("").asOutput()) // compression_type: none
            .addInput(in.constant(READ_BUFFER_BYTES).asOutput())
            .build();
    return op.output(0);
  }
}
