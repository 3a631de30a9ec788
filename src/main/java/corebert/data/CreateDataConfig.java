package corebert.data;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything {@link PretrainingDataCreator} needs, validated once here. The defaults are
 * google-research/bert's flag defaults except {@code dupeFactor} (5 instead of 10, which halves the
 * output for a small loss in mask variety).
 *
 * @param inputs text files: one sentence per line, a blank line between documents
 * @param vocab BERT vocab.txt
 * @param outputDir where {@code part-NNNNN-of-NNNNN.tfrecord} files go; created if missing
 * @param maxSeqLength tokens per instance including [CLS] and two [SEP]
 * @param maxPredictionsPerSeq cap on masked positions per instance
 * @param maskedLmProb fraction of tokens masked
 * @param dupeFactor how many times each document is turned into instances, each with new masks
 * @param shortSeqProb probability of a random shorter target length
 * @param shards number of output files
 * @param threads worker threads; the output does not depend on it
 * @param seed base seed; shard s uses a seed derived from (seed, s)
 * @param wholeWordMask mask all WordPieces of a word together
 * @param lowerCase lowercase before tokenizing (uncased vocab)
 * @param format how the inputs lay out documents
 * @param textField the JSONL field holding a document's text
 */
public record CreateDataConfig(
    List<Path> inputs,
    Path vocab,
    Path outputDir,
    int maxSeqLength,
    int maxPredictionsPerSeq,
    double maskedLmProb,
    int dupeFactor,
    double shortSeqProb,
    int shards,
    int threads,
    long seed,
    boolean wholeWordMask,
    boolean lowerCase,
    CorpusFormat format,
    String textField) {

  public static final int DEFAULT_MAX_SEQ_LENGTH = 128;
  public static final int DEFAULT_MAX_PREDICTIONS_PER_SEQ = 20;
  public static final double DEFAULT_MASKED_LM_PROB = 0.15;
  public static final int DEFAULT_DUPE_FACTOR = 5;
  public static final double DEFAULT_SHORT_SEQ_PROB = 0.1;
  public static final int DEFAULT_SHARDS = 4;
  public static final long DEFAULT_SEED = 12345;

  /** [CLS], [SEP], [SEP] plus room for a few real tokens in each segment. */
  public static final int MIN_SEQ_LENGTH = 8;

  public CreateDataConfig {
    if (inputs == null || inputs.isEmpty()) {
      throw new IllegalArgumentException("inputs must name at least one file");
    }
    inputs = List.copyOf(inputs);
    if (vocab == null) {
      throw new IllegalArgumentException("vocab must be set");
    }
    if (outputDir == null) {
      throw new IllegalArgumentException("outputDir must be set");
    }
    if (maxSeqLength < MIN_SEQ_LENGTH) {
      throw new IllegalArgumentException(
          "maxSeqLength must be >= " + MIN_SEQ_LENGTH + ", got " + maxSeqLength);
    }
    if (maxPredictionsPerSeq < 1 || maxPredictionsPerSeq > maxSeqLength) {
      throw new IllegalArgumentException(
          "maxPredictionsPerSeq must be in [1, maxSeqLength="
              + maxSeqLength
              + "], got "
              + maxPredictionsPerSeq);
    }
    if (!(maskedLmProb > 0 && maskedLmProb <= 1)) {
      throw new IllegalArgumentException("maskedLmProb must be in (0, 1], got " + maskedLmProb);
    }
    if (dupeFactor < 1) {
      throw new IllegalArgumentException("dupeFactor must be >= 1, got " + dupeFactor);
    }
    if (!(shortSeqProb >= 0 && shortSeqProb <= 1)) {
      throw new IllegalArgumentException("shortSeqProb must be in [0, 1], got " + shortSeqProb);
    }
    if (shards < 1 || shards > 99_999) {
      throw new IllegalArgumentException("shards must be in [1, 99999], got " + shards);
    }
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
  }

  /** A builder holding the defaults above, for {@code inputs} tokenized with {@code vocab}. */
  public static Builder builder(List<Path> inputs, Path vocab, Path outputDir) {
    return new Builder(inputs, vocab, outputDir);
  }

  /** Named setters over the record's components; {@link #build()} validates. */
  public static final class Builder {
    private final List<Path> inputs;
    private final Path vocab;
    private final Path outputDir;
    private int maxSeqLength = DEFAULT_MAX_SEQ_LENGTH;
    private int maxPredictionsPerSeq = DEFAULT_MAX_PREDICTIONS_PER_SEQ;
    private double maskedLmProb = DEFAULT_MASKED_LM_PROB;
    private int dupeFactor = DEFAULT_DUPE_FACTOR;
    private double shortSeqProb = DEFAULT_SHORT_SEQ_PROB;
    private int shards = DEFAULT_SHARDS;
    private int threads = 1;
    private long seed = DEFAULT_SEED;
    private boolean wholeWordMask;
    private boolean lowerCase = true;
    private CorpusFormat format = CorpusFormat.AUTO;
    private String textField = "text";

    private Builder(List<Path> inputs, Path vocab, Path outputDir) {
      this.inputs = inputs;
      this.vocab = vocab;
      this.outputDir = outputDir;
    }

    public Builder maxSeqLength(int n) {
      maxSeqLength = n;
      return this;
    }

    public Builder maxPredictionsPerSeq(int n) {
      maxPredictionsPerSeq = n;
      return this;
    }

    public Builder maskedLmProb(double p) {
      maskedLmProb = p;
      return this;
    }

    public Builder dupeFactor(int n) {
      dupeFactor = n;
      return this;
    }

    public Builder shortSeqProb(double p) {
      shortSeqProb = p;
      return this;
    }

    public Builder shards(int n) {
      shards = n;
      return this;
    }

    public Builder threads(int n) {
      threads = n;
      return this;
    }

    public Builder seed(long s) {
      seed = s;
      return this;
    }

    public Builder wholeWordMask(boolean on) {
      wholeWordMask = on;
      return this;
    }

    public Builder lowerCase(boolean on) {
      lowerCase = on;
      return this;
    }

    /** How the inputs lay out documents; {@code textField} names JSONL's text field. */
    public Builder format(CorpusFormat f, String field) {
      format = f;
      textField = field;
      return this;
    }

    public CreateDataConfig build() {
      return new CreateDataConfig(
          inputs,
          vocab,
          outputDir,
          maxSeqLength,
          maxPredictionsPerSeq,
          maskedLmProb,
          dupeFactor,
          shortSeqProb,
          shards,
          threads,
          seed,
          wholeWordMask,
          lowerCase,
          format,
          textField);
    }
  }
}
