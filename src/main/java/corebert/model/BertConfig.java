package corebert.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * BERT hyperparameters, read from google-research/bert's {@code bert_config.json} keys plus an
 * optional {@code relaxed} object for CoRe's phase-1 model. Immutable and validated on creation.
 *
 * @param vocabSize size of the WordPiece vocabulary (rows of the word embedding table)
 * @param hiddenSize width H of every encoder layer
 * @param numHiddenLayers number L of transformer layers
 * @param numAttentionHeads heads N per attention layer; H must be divisible by N
 * @param intermediateSize width I of the feed-forward layer
 * @param hiddenAct feed-forward non-linearity: gelu (exact, erf-based), relu or tanh
 * @param hiddenDropoutProb dropout after embeddings, attention output and FFN output
 * @param attentionProbsDropoutProb dropout on the attention probabilities
 * @param maxPositionEmbeddings longest sequence the position table supports
 * @param typeVocabSize number of segment ids (2 for sentence pairs)
 * @param initializerRange stddev of the truncated-normal weight initialiser
 * @param relaxed the phase-1 relaxation, absent for a plain BERT config
 */
public record BertConfig(
    int vocabSize,
    int hiddenSize,
    int numHiddenLayers,
    int numAttentionHeads,
    int intermediateSize,
    String hiddenAct,
    double hiddenDropoutProb,
    double attentionProbsDropoutProb,
    int maxPositionEmbeddings,
    int typeVocabSize,
    double initializerRange,
    Optional<Relaxed> relaxed) {

  /**
   * CoRe's phase-1 changes: kernelised linear attention and rank-r feed-forward factors.
   *
   * @param attention the attention: {@code linear_elu} (φ = elu + 1, Katharopoulos et al. 2020), or
   *     {@code softmax} (BERT's own; only the kernels are relaxed, so surgery is exact)
   * @param ffnRank rank r of the U·V factorisation of both FFN kernels
   * @param attentionRank rank of the U·V factorisation of the Q, K, V and O kernels, or 0 to keep
   *     them full (CoRe's paper keeps them; factorising them too is corebert's deeper relaxation)
   * @param qkBound bound B on each layer's ‖Wq‖_F·‖Wk‖_F during phase 1, which bounds the Q·K scale
   *     softmax attention starts from after surgery (0: none; see corebert.train.QkBound)
   */
  public record Relaxed(String attention, int ffnRank, int attentionRank, double qkBound) {
    public static final String LINEAR_ELU = "linear_elu";

    /**
     * Softmax attention kept in the relaxed model: only the kernels are factorised, so surgery
     * preserves the whole model's function and there is no jump at the switch.
     */
    public static final String SOFTMAX = "softmax";

    /** The paper's relaxation: linear attention and rank-r FFN kernels, full Q/K/V/O. */
    public Relaxed(String attention, int ffnRank) {
      this(attention, ffnRank, 0);
    }

    /** As the paper's, with Q/K/V/O factorised at {@code attentionRank} (0: full). */
    public Relaxed(String attention, int ffnRank, int attentionRank) {
      this(attention, ffnRank, attentionRank, 0);
    }

    public Relaxed {
      if (!LINEAR_ELU.equals(attention) && !SOFTMAX.equals(attention)) {
        throw new IllegalArgumentException(
            "relaxed.attention must be '"
                + LINEAR_ELU
                + "' or '"
                + SOFTMAX
                + "', got '"
                + attention
                + "'");
      }
      if (ffnRank < 1) {
        throw new IllegalArgumentException("relaxed.ffn_rank must be >= 1, got " + ffnRank);
      }
      if (!(qkBound >= 0)) {
        throw new IllegalArgumentException(
            "relaxed.qk_bound must be >= 0 (0: no bound), got " + qkBound);
      }
      if (attentionRank < 0) {
        throw new IllegalArgumentException(
            "relaxed.attention_rank must be >= 1 (or 0 for full Q/K/V/O), got " + attentionRank);
      }
    }

    /** Whether the relaxed model uses linear attention (else softmax, as the full model). */
    public boolean linearAttention() {
      return LINEAR_ELU.equals(attention);
    }

    /** Whether the Q, K, V and O kernels are factorised too. */
    public boolean factorisesAttention() {
      return attentionRank > 0;
    }
  }

  private static final Set<String> ACTIVATIONS = Set.of("gelu", "relu", "tanh");

  public BertConfig {
    requirePositive("vocab_size", vocabSize);
    requirePositive("hidden_size", hiddenSize);
    requirePositive("num_hidden_layers", numHiddenLayers);
    requirePositive("num_attention_heads", numAttentionHeads);
    requirePositive("intermediate_size", intermediateSize);
    requirePositive("max_position_embeddings", maxPositionEmbeddings);
    requirePositive("type_vocab_size", typeVocabSize);
    if (hiddenSize % numAttentionHeads != 0) {
      throw new IllegalArgumentException(
          "hidden_size ("
              + hiddenSize
              + ") must be divisible by num_attention_heads ("
              + numAttentionHeads
              + ")");
    }
    if (!ACTIVATIONS.contains(hiddenAct)) {
      throw new IllegalArgumentException(
          "hidden_act must be one of " + new TreeSet<>(ACTIVATIONS) + ", got '" + hiddenAct + "'");
    }
    requireProbability("hidden_dropout_prob", hiddenDropoutProb);
    requireProbability("attention_probs_dropout_prob", attentionProbsDropoutProb);
    if (!(initializerRange > 0)) {
      throw new IllegalArgumentException("initializer_range must be > 0, got " + initializerRange);
    }
    relaxed = relaxed == null ? Optional.empty() : relaxed;
  }

  /** Reads a {@code bert_config.json}; errors name the file and the offending key. */
  public static BertConfig fromJsonFile(Path path) {
    String text;
    try {
      text = Files.readString(path);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read config " + path, e);
    }
    try {
      return fromJson(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@code bert_config.json} as written: google-research/bert's keys, each optional here so that a
   * missing one gets its default or a clear error, plus CoRe's optional {@code relaxed} block. Keys
   * google released in some configs that do not change the graph are skipped.
   */
  @JsonIgnoreProperties({
    "directionality",
    "pooler_fc_size",
    "pooler_num_attention_heads",
    "pooler_num_fc_layers",
    "pooler_size_per_head",
    "pooler_type"
  })
  public record File(
      Integer vocabSize,
      Integer hiddenSize,
      Integer numHiddenLayers,
      Integer numAttentionHeads,
      Integer intermediateSize,
      String hiddenAct,
      Double hiddenDropoutProb,
      Double attentionProbsDropoutProb,
      Integer maxPositionEmbeddings,
      Integer typeVocabSize,
      Double initializerRange,
      RelaxedFile relaxed) {

    /** The config, with google-research/bert's defaults for the keys it may leave out. */
    public BertConfig toConfig() {
      return new BertConfig(
          required("vocab_size", vocabSize),
          required("hidden_size", hiddenSize),
          required("num_hidden_layers", numHiddenLayers),
          required("num_attention_heads", numAttentionHeads),
          required("intermediate_size", intermediateSize),
          hiddenAct == null ? "gelu" : hiddenAct,
          hiddenDropoutProb == null ? 0.1 : hiddenDropoutProb,
          attentionProbsDropoutProb == null ? 0.1 : attentionProbsDropoutProb,
          maxPositionEmbeddings == null ? 512 : maxPositionEmbeddings,
          typeVocabSize == null ? 2 : typeVocabSize,
          initializerRange == null ? 0.02 : initializerRange,
          Optional.ofNullable(relaxed).map(RelaxedFile::toRelaxed));
    }
  }

  /** The {@code relaxed} block as written; attention defaults to linear_elu, as the paper's. */
  public record RelaxedFile(
      String attention, Integer ffnRank, Integer attentionRank, Double qkBound) {
    Relaxed toRelaxed() {
      return new Relaxed(
          attention == null ? Relaxed.LINEAR_ELU : attention,
          required("relaxed.ffn_rank", ffnRank),
          attentionRank == null ? 0 : attentionRank,
          qkBound == null ? 0 : qkBound);
    }
  }

  /** Parses the JSON text of a config; unknown keys are errors, not silently dropped. */
  public static BertConfig fromJson(String text) {
    try {
      return Jackson.MAPPER.readValue(text, File.class).toConfig();
    } catch (UnrecognizedPropertyException e) {
      throw new IllegalArgumentException("unknown config key(s): ['" + keyPath(e) + "']", e);
    } catch (MismatchedInputException e) {
      throw new IllegalArgumentException(
          "'" + keyPath(e) + "' has the wrong type: " + e.getOriginalMessage(), e);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(e.getOriginalMessage(), e);
    }
  }

  /** The dotted key a parse error is about, such as {@code relaxed.ffn_rank}. */
  private static String keyPath(JsonMappingException e) {
    return e.getPath().stream()
        .map(JsonMappingException.Reference::getFieldName)
        .filter(Objects::nonNull)
        .collect(Collectors.joining("."));
  }

  /** The file's form of this config: google-research/bert's keys, and the relaxed block if any. */
  public File toFile() {
    return new File(
        vocabSize,
        hiddenSize,
        numHiddenLayers,
        numAttentionHeads,
        intermediateSize,
        hiddenAct,
        hiddenDropoutProb,
        attentionProbsDropoutProb,
        maxPositionEmbeddings,
        typeVocabSize,
        initializerRange,
        relaxed
            .map(
                r ->
                    new RelaxedFile(
                        r.attention(),
                        r.ffnRank(),
                        r.factorisesAttention() ? r.attentionRank() : null,
                        r.qkBound() > 0 ? r.qkBound() : null))
            .orElse(null));
  }

  /** The config as google-research/bert JSON (plus {@code relaxed} when present). */
  public String toJson() {
    return Jackson.writePretty(toFile());
  }

  /** google-research/bert's keys and their values: the config without its relaxed block. */
  public File bertFields() {
    File f = toFile();
    return new File(
        f.vocabSize(),
        f.hiddenSize(),
        f.numHiddenLayers(),
        f.numAttentionHeads(),
        f.intermediateSize(),
        f.hiddenAct(),
        f.hiddenDropoutProb(),
        f.attentionProbsDropoutProb(),
        f.maxPositionEmbeddings(),
        f.typeVocabSize(),
        f.initializerRange(),
        null);
  }

  /** Writes {@link #toJson()} to a file. */
  public void writeTo(Path path) {
    try {
      Files.writeString(path, toJson());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + path, e);
    }
  }

  /** The same model with dropout off: the eval and export graphs use it. */
  public BertConfig withoutDropout() {
    return withDropout(0);
  }

  /** The same model with both dropout probabilities set to {@code p}. */
  public BertConfig withDropout(double p) {
    return with(vocabSize, p, p, relaxed);
  }

  /** The same model with another relaxation (benchmark sweeps). */
  public BertConfig withRelaxed(Relaxed r) {
    return with(vocabSize, hiddenDropoutProb, attentionProbsDropoutProb, Optional.of(r));
  }

  /** The same architecture for another vocab.txt. */
  public BertConfig withVocabSize(int size) {
    return with(size, hiddenDropoutProb, attentionProbsDropoutProb, relaxed);
  }

  private BertConfig with(
      int vocab, double hiddenDropout, double attentionDropout, Optional<Relaxed> r) {
    return new BertConfig(
        vocab,
        hiddenSize,
        numHiddenLayers,
        numAttentionHeads,
        intermediateSize,
        hiddenAct,
        hiddenDropout,
        attentionDropout,
        maxPositionEmbeddings,
        typeVocabSize,
        initializerRange,
        r);
  }

  /** Width of one attention head, H / N. */
  public int headSize() {
    return hiddenSize / numAttentionHeads;
  }

  /**
   * The relaxation, or an error naming the file's missing key when a relaxed model is asked for.
   */
  public Relaxed requireRelaxed() {
    return relaxed.orElseThrow(
        () ->
            new IllegalArgumentException(
                "the config has no \"relaxed\" object (e.g. {\"attention\": \"linear_elu\","
                    + " \"ffn_rank\": 64}), which the relaxed model needs"));
  }

  /**
   * Whether two configs describe the same tensors (all shapes equal); dropout and the relaxed block
   * may differ. Returns the first mismatch, or empty when compatible.
   */
  public Optional<String> shapeMismatch(BertConfig other) {
    String[][] pairs = {
      {"vocab_size", "" + vocabSize, "" + other.vocabSize},
      {"hidden_size", "" + hiddenSize, "" + other.hiddenSize},
      {"num_hidden_layers", "" + numHiddenLayers, "" + other.numHiddenLayers},
      {"num_attention_heads", "" + numAttentionHeads, "" + other.numAttentionHeads},
      {"intermediate_size", "" + intermediateSize, "" + other.intermediateSize},
      {"max_position_embeddings", "" + maxPositionEmbeddings, "" + other.maxPositionEmbeddings},
      {"type_vocab_size", "" + typeVocabSize, "" + other.typeVocabSize},
    };
    for (String[] p : pairs) {
      if (!p[1].equals(p[2])) {
        return Optional.of(p[0] + " " + p[1] + " vs " + p[2]);
      }
    }
    return Optional.empty();
  }

  private static int required(String key, Integer value) {
    if (value == null) {
      throw new IllegalArgumentException("missing required key '" + key + "'");
    }
    return value;
  }

  private static void requirePositive(String key, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(key + " must be >= 1, got " + value);
    }
  }

  private static void requireProbability(String key, double p) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException(key + " must be in [0, 1), got " + p);
    }
  }
}
