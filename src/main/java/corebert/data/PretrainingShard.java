package corebert.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One output shard of {@link PretrainingDataCreator}: google-research/bert's {@code
 * create_instances_from_document} and {@code create_masked_lm_predictions} over token ids, with the
 * shard's random stream, its window of recent documents, its shuffle buffer and its writer. Only
 * its worker thread touches it.
 */
final class PretrainingShard {
  /** Read-only facts about the vocab that masking needs, shared by a worker's shards. */
  static final class Masking {
    final int vocabSize;
    final int clsId;
    final int sepId;
    final int maskId;
    final boolean[] continuation;

    Masking(Vocab vocab, CreateDataConfig config) {
      vocabSize = vocab.size();
      clsId = vocab.clsId();
      sepId = vocab.sepId();
      maskId = vocab.maskId();
      continuation = new boolean[vocabSize];
      if (config.wholeWordMask()) {
        for (int id = 0; id < vocabSize; id++) {
          continuation[id] = vocab.token(id).startsWith("##");
        }
      }
    }
  }

  private final CreateDataConfig config;
  private final Masking masking;
  private final Path temp;
  private final SplittableRandom rng;
  private final TfRecordWriter writer;
  private final int[][][] window = new int[PretrainingDataCreator.RANDOM_DOCUMENT_WINDOW][][];
  private int windowSize;
  private int windowNext;
  private final byte[][] buffer = new byte[PretrainingDataCreator.SHUFFLE_BUFFER][];
  private int buffered;

  PretrainingShard(int shard, CreateDataConfig config, Masking masking, Path temp) {
    this.config = config;
    this.masking = masking;
    this.temp = temp;
    // The golden-ratio multiplier spreads (seed, shard) pairs far apart in seed space.
    this.rng = new SplittableRandom(config.seed() ^ (0x9E3779B97F4A7C15L * (shard + 1L)));
    this.writer = new TfRecordWriter(temp);
  }

  /** Turns one document into instances dupeFactor times; returns how many it made. */
  int add(int[][] document) {
    int made = 0;
    for (int d = 0; d < config.dupeFactor(); d++) {
      made += createInstances(document);
    }
    window[windowNext] = document;
    windowNext = (windowNext + 1) % window.length;
    windowSize = Math.min(windowSize + 1, window.length);
    return made;
  }

  /** BERT's {@code create_instances_from_document}, over token ids. */
  private int createInstances(int[][] document) {
    // Account for [CLS], [SEP], [SEP].
    int maxNumTokens = config.maxSeqLength() - 3;
    // Mostly fill the sequence (padding is wasted compute), but sometimes go shorter to match
    // fine-tuning inputs; the target is soft, maxSeqLength is the hard limit.
    int targetLength = maxNumTokens;
    if (rng.nextDouble() < config.shortSeqProb()) {
      targetLength = rng.nextInt(2, maxNumTokens + 1);
    }
    int made = 0;
    List<int[]> chunk = new ArrayList<>();
    int chunkLength = 0;
    int i = 0;
    while (i < document.length) {
      chunk.add(document[i]);
      chunkLength += document[i].length;
      if (i == document.length - 1 || chunkLength >= targetLength) {
        // Split at sentence boundaries, not at a random token, so NSP is not trivially easy.
        int aEnd = chunk.size() >= 2 ? rng.nextInt(1, chunk.size()) : 1;
        IntSpan a = new IntSpan();
        for (int j = 0; j < aEnd; j++) {
          a.addAll(chunk.get(j));
        }
        IntSpan b = new IntSpan();
        boolean isRandomNext = chunk.size() == 1 || rng.nextDouble() < 0.5;
        if (isRandomNext) {
          int targetB = targetLength - a.length();
          int[][] other = randomDocument(document);
          for (int j = rng.nextInt(other.length); j < other.length; j++) {
            b.addAll(other[j]);
            if (b.length() >= targetB) {
              break;
            }
          }
          // The segments after aEnd were not used; put them back for the next instance.
          i -= chunk.size() - aEnd;
        } else {
          for (int j = aEnd; j < chunk.size(); j++) {
            b.addAll(chunk.get(j));
          }
        }
        truncateSeqPair(a, b, maxNumTokens);
        write(maskedInstance(a, b, isRandomNext));
        made++;
        chunk.clear();
        chunkLength = 0;
      }
      i++;
    }
    return made;
  }

  /**
   * A document from the recent window. The current document enters the window only after its
   * instances are made, so it is never its own random next; the very first document of a shard has
   * nothing else to use, as in BERT with a one-document corpus.
   */
  private int[][] randomDocument(int[][] current) {
    return windowSize == 0 ? current : window[rng.nextInt(windowSize)];
  }

  /** BERT's {@code truncate_seq_pair}: trim the longer side, from the front or back at random. */
  private void truncateSeqPair(IntSpan a, IntSpan b, int maxNumTokens) {
    while (a.length() + b.length() > maxNumTokens) {
      IntSpan longer = a.length() >= b.length() ? a : b;
      if (rng.nextDouble() < 0.5) {
        longer.dropFirst();
      } else {
        longer.dropLast();
      }
    }
  }

  /** {@code [CLS] A [SEP] B [SEP]} plus BERT's {@code create_masked_lm_predictions}. */
  private TrainingInstance maskedInstance(IntSpan a, IntSpan b, boolean isRandomNext) {
    int length = a.length() + b.length() + 3;
    int[] tokens = new int[length];
    int[] segments = new int[length];
    tokens[0] = masking.clsId;
    a.copyTo(tokens, 1);
    tokens[a.length() + 1] = masking.sepId;
    b.copyTo(tokens, a.length() + 2);
    tokens[length - 1] = masking.sepId;
    Arrays.fill(segments, a.length() + 2, length, 1);
    boolean[] masked = new boolean[length];
    int[] output = mask(tokens, masked);
    int count = 0;
    for (boolean m : masked) {
      count += m ? 1 : 0;
    }
    int[] positions = new int[count];
    int[] labels = new int[count];
    for (int i = 0, k = 0; i < length; i++) {
      if (masked[i]) {
        positions[k] = i;
        labels[k++] = tokens[i];
      }
    }
    return new TrainingInstance(output, segments, positions, labels, isRandomNext);
  }

  /**
   * Chooses the positions to predict, whole words when ## pieces join their word, marks them in
   * {@code masked}, and returns the tokens as the model sees them: 80% [MASK], 10% a random token,
   * 10% unchanged.
   */
  private int[] mask(int[] tokens, boolean[] masked) {
    int length = tokens.length;
    List<int[]> groups = new ArrayList<>(length);
    for (int i = 0; i < length; i++) {
      int t = tokens[i];
      if (t == masking.clsId || t == masking.sepId) {
        continue;
      }
      if (masking.continuation[t] && !groups.isEmpty()) {
        int[] last = groups.get(groups.size() - 1);
        int[] grown = Arrays.copyOf(last, last.length + 1);
        grown[last.length] = i;
        groups.set(groups.size() - 1, grown);
      } else {
        groups.add(new int[] {i});
      }
    }
    for (int i = groups.size() - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int[] tmp = groups.get(i);
      groups.set(i, groups.get(j));
      groups.set(j, tmp);
    }
    // Python's round() rounds half to even, as Math.rint does.
    int numToPredict =
        Math.min(
            config.maxPredictionsPerSeq(),
            Math.max(1, (int) Math.rint(length * config.maskedLmProb())));
    int[] output = tokens.clone();
    int count = 0;
    for (int[] group : groups) {
      if (count >= numToPredict) {
        break;
      }
      if (count + group.length > numToPredict) {
        continue;
      }
      for (int index : group) {
        masked[index] = true;
        count++;
        if (rng.nextDouble() < 0.8) {
          output[index] = masking.maskId;
        } else if (rng.nextDouble() >= 0.5) {
          output[index] = rng.nextInt(masking.vocabSize);
        }
        // else: 10% of the time the original token stays.
      }
    }
    return output;
  }

  /** Adds to the shuffle buffer; when it is full, a random buffered instance goes out first. */
  private void write(TrainingInstance instance) {
    byte[] record =
        PretrainingSchema.toExample(instance, config.maxSeqLength(), config.maxPredictionsPerSeq())
            .toByteArray();
    if (buffered < buffer.length) {
      buffer[buffered++] = record;
      return;
    }
    int j = rng.nextInt(buffered);
    writer.write(buffer[j]);
    buffer[j] = record;
  }

  /** Shuffles and writes what is left in the buffer. */
  void finish() {
    for (int i = buffered - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      byte[] tmp = buffer[i];
      buffer[i] = buffer[j];
      buffer[j] = tmp;
    }
    for (int i = 0; i < buffered; i++) {
      writer.write(buffer[i]);
      buffer[i] = null;
    }
    buffered = 0;
    writer.close();
    // Flush to disk before the rename makes the file visible.
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
      channel.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot sync " + temp, e);
    }
  }

  void close() {
    writer.close();
  }

  /** A growable int list that can drop from both ends, for truncate_seq_pair. */
  private static final class IntSpan {
    private int[] data = new int[64];
    private int start;
    private int end;

    void addAll(int[] values) {
      if (end + values.length > data.length) {
        data = Arrays.copyOf(data, Math.max(data.length * 2, end + values.length));
      }
      System.arraycopy(values, 0, data, end, values.length);
      end += values.length;
    }

    int length() {
      return end - start;
    }

    void dropFirst() {
      start++;
    }

    void dropLast() {
      end--;
    }

    void copyTo(int[] target, int offset) {
      System.arraycopy(data, start, target, offset, end - start);
    }
  }
}
