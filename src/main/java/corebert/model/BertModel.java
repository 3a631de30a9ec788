package corebert.model;

import static corebert.model.VariableNames.*;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.random.RandomUniform;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The BERT encoder of Devlin et al. 2019 (embeddings, L transformer layers, pooler) built as graph
 * ops, with CoRe's relaxed variant behind one switch: linear attention and rank-r FFN kernels.
 * Variable scopes equal google-research/bert's checkpoint names.
 *
 * <p>Dimensions: B batch, T sequence length, H hidden size, N heads, D = H/N head size, I
 * intermediate size, R FFN rank, V vocabulary size. The encoder stays 2-D, [B*T, H], between
 * layers: reshapes to 3-D and back cost copies on some devices (as in BERT's modeling.py).
 */
public final class BertModel {
  /** Which attention the encoder uses; the relaxed model also factorises its FFN kernels. */
  public enum Variant {
    FULL,
    RELAXED
  }

  /** Outputs of {@link #build}. */
  public record Outputs(
      Operand<TFloat32> sequenceOutput, // [B*T, H]
      Operand<TFloat32> pooledOutput, // [B, H]
      Operand<TFloat32> wordEmbeddings) {} // [V, H], shared with the MLM head

  /** Added to masked attention logits: small enough that softmax gives them ~0 weight (BERT). */
  private static final float MASK_ADDER = -10000.0f;

  /** Guards linear attention's normaliser φ(Q)·Σφ(K), which is > 0 unless every key is padding. */
  private static final float LINEAR_ATTENTION_EPS = 1e-6f;

  private final Ops tf;
  private final BertConfig cfg;
  private final Variant variant;
  private final long seed;
  private final Layers layers;
  private int dropoutCount;

  private BertModel(Ops tf, BertConfig cfg, Variant variant, long seed, VariableStore store) {
    this.tf = tf;
    this.cfg = cfg;
    this.variant = variant;
    this.seed = seed;
    this.layers = new Layers(tf, seed, store);
    if (variant == Variant.RELAXED) {
      cfg.requireRelaxed();
    }
  }

  /**
   * Builds the encoder. Dropout is on when the config's dropout probabilities are non-zero; the
   * eval and export graphs pass {@link BertConfig#withoutDropout()}.
   *
   * @param inputIds int32 [B, T] WordPiece ids
   * @param inputMask int32 [B, T], 1 for real tokens and 0 for padding
   * @param segmentIds int32 [B, T], 0 for sentence A and 1 for sentence B
   * @param seed graph-level seed for initialisers and dropout
   * @param store where the variables come from: replicas of one model share them
   */
  public static Outputs build(
      Ops tf,
      BertConfig cfg,
      Variant variant,
      Operand<TInt32> inputIds,
      Operand<TInt32> inputMask,
      Operand<TInt32> segmentIds,
      long seed,
      VariableStore store) {
    Shapes.requireRank(inputIds, 2, "input_ids");
    Shapes.requireRank(inputMask, 2, "input_mask");
    Shapes.requireRank(segmentIds, 2, "segment_ids");
    return new BertModel(tf, cfg, variant, seed, store).encode(inputIds, inputMask, segmentIds);
  }

  private Outputs encode(
      Operand<TInt32> inputIds, Operand<TInt32> inputMask, Operand<TInt32> segmentIds) {
    Ops bert = tf.withSubScope(BERT);
    Operand<TInt32> batch = Shapes.dynamicDim(tf, inputIds, 0);
    Operand<TInt32> seq = Shapes.dynamicDim(tf, inputIds, 1);

    Ops emb = bert.withSubScope(EMBEDDINGS);
    Variable<TFloat32> wordTable =
        weight(emb, WORD_EMBEDDINGS, Shape.of(cfg.vocabSize(), cfg.hiddenSize()));
    Operand<TFloat32> wordTableValue = tf.identity(wordTable);
    Operand<TFloat32> x = embeddingLookup(wordTableValue, inputIds); // [B*T, H]
    x = embeddingPostprocessor(emb, x, segmentIds, batch, seq); // [B*T, H]

    Operand<TFloat32> maskFloat = tf.dtypes.cast(inputMask, TFloat32.class); // [B, T]
    Ops encoder = bert.withSubScope(ENCODER);
    for (int i = 0; i < cfg.numHiddenLayers(); i++) {
      x = transformerLayer(encoder.withSubScope(layer(i)), x, maskFloat, batch, seq);
    }
    Operand<TFloat32> sequenceOutput = tf.withName("sequence_output").identity(x);
    Operand<TFloat32> pooled = pooler(bert.withSubScope(POOLER), sequenceOutput, batch, seq);
    return new Outputs(sequenceOutput, pooled, wordTableValue);
  }

  /** Looks up word embeddings: ids [B, T] -> [B*T, H]. */
  private Operand<TFloat32> embeddingLookup(Operand<TFloat32> table, Operand<TInt32> inputIds) {
    Operand<TInt32> flatIds = tf.reshape(inputIds, tf.constant(new int[] {-1})); // [B*T]
    return tf.gather(table, flatIds, tf.constant(0)); // [B*T, H]
  }

  /** Adds segment and position embeddings, then LayerNorm and dropout (BERT §3.1, Figure 2). */
  private Operand<TFloat32> embeddingPostprocessor(
      Ops emb,
      Operand<TFloat32> words,
      Operand<TInt32> segmentIds,
      Operand<TInt32> batch,
      Operand<TInt32> seq) {
    Operand<TFloat32> typeTable =
        tf.identity(
            weight(emb, TOKEN_TYPE_EMBEDDINGS, Shape.of(cfg.typeVocabSize(), cfg.hiddenSize())));
    Operand<TInt32> flatTypes = tf.reshape(segmentIds, tf.constant(new int[] {-1})); // [B*T]
    Operand<TFloat32> types = tf.gather(typeTable, flatTypes, tf.constant(0)); // [B*T, H]

    Operand<TFloat32> positionTable =
        tf.identity(
            weight(
                emb, POSITION_EMBEDDINGS, Shape.of(cfg.maxPositionEmbeddings(), cfg.hiddenSize())));
    Operand<TFloat32> positions =
        tf.slice(positionTable, tf.constant(new int[] {0, 0}), Shapes.dims(tf, seq, -1)); // [T, H]
    Operand<TFloat32> x =
        tf.reshape(tf.math.add(words, types), Shapes.dims(tf, batch, seq, cfg.hiddenSize()));
    x = tf.math.add(x, positions); // [B, T, H] + [T, H] broadcast
    x = tf.reshape(x, tf.constant(new int[] {-1, cfg.hiddenSize()})); // [B*T, H]
    return dropout(layers.layerNorm(emb, x, cfg.hiddenSize()), cfg.hiddenDropoutProb());
  }

  /** One post-LN transformer block (Vaswani et al. 2017 §3.1, as in BERT). */
  private Operand<TFloat32> transformerLayer(
      Ops layer,
      Operand<TFloat32> x,
      Operand<TFloat32> mask,
      Operand<TInt32> batch,
      Operand<TInt32> seq) {
    int h = cfg.hiddenSize();
    Ops attention = layer.withSubScope(ATTENTION);
    Operand<TFloat32> context =
        attentionLayer(attention.withSubScope(SELF), x, mask, batch, seq); // [B*T, H]
    Ops attentionOut = attention.withSubScope(OUTPUT);
    Operand<TFloat32> attended =
        dense(attentionOut.withSubScope(DENSE), context, h, h, attentionRank()); // [B*T, H]
    attended = dropout(attended, cfg.hiddenDropoutProb());
    attended = layers.layerNorm(attentionOut, tf.math.add(attended, x), h); // [B*T, H]

    Ops out = layer.withSubScope(OUTPUT);
    Operand<TFloat32> ffn = dropout(feedForward(layer, out, attended), cfg.hiddenDropoutProb());
    return layers.layerNorm(out, tf.math.add(ffn, attended), h); // [B*T, H]
  }

  /**
   * The feed-forward sublayer act(x·W₁ + b₁)·W₂ + b₂ of {@code layer}, whose output scope is {@code
   * out}: [N, H] → [N, I] → [N, H].
   */
  private Operand<TFloat32> feedForward(Ops layer, Ops out, Operand<TFloat32> x) {
    int h = cfg.hiddenSize();
    int i = cfg.intermediateSize();
    Ops intermediate = layer.withSubScope(INTERMEDIATE).withSubScope(DENSE);
    Operand<TFloat32> inner =
        Layers.activation(tf, cfg.hiddenAct(), dense(intermediate, x, h, i, ffnRank())); // [N, I]
    return dense(out.withSubScope(DENSE), inner, i, h, ffnRank()); // [N, H]
  }

  /**
   * Every layer's feed-forward sublayer on its own, under its checkpoint names, computed by the
   * encoder's code: {@code xs.get(i)} [N, H] → [N, H] for layer i. Graph surgery checks the kernels
   * it rebuilds with them.
   */
  public static List<Operand<TFloat32>> feedForwards(
      Ops tf, BertConfig cfg, Variant variant, List<Operand<TFloat32>> xs) {
    BertModel m = new BertModel(tf, cfg.withoutDropout(), variant, 0, VariableStore.create());
    Ops encoder = tf.withSubScope(BERT).withSubScope(ENCODER);
    List<Operand<TFloat32>> outputs = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      Ops layer = encoder.withSubScope(layer(i));
      outputs.add(m.feedForward(layer, layer.withSubScope(OUTPUT), xs.get(i)));
    }
    return outputs;
  }

  /** A dense layer named by its kernel variable, with its full kernel (rank 0) or U·V. */
  public record Dense(String kernel, int in, int out, int rank) {}

  /**
   * Dense layers on their own, under their checkpoint names, computed by the encoder's code: {@code
   * xs.get(k)} [N, in] → [N, out] for {@code layers.get(k)}.
   */
  public static List<Operand<TFloat32>> denseLayers(
      Ops tf, BertConfig cfg, List<Dense> layers, List<Operand<TFloat32>> xs) {
    Layers code = new Layers(tf, 0, VariableStore.create());
    Map<String, Ops> scopes = new HashMap<>(); // TF renames a scope made twice (bert → bert_1)
    List<Operand<TFloat32>> outputs = new ArrayList<>();
    for (int k = 0; k < layers.size(); k++) {
      Dense d = layers.get(k);
      Ops scope = scope(tf, scopes, d.kernel().substring(0, d.kernel().lastIndexOf('/')));
      outputs.add(code.dense(scope, xs.get(k), d.in(), d.out(), cfg.initializerRange(), d.rank()));
    }
    return outputs;
  }

  /** The scope at {@code path} below {@code root}, each made once. */
  private static Ops scope(Ops root, Map<String, Ops> made, String path) {
    Ops s = made.get(path);
    if (s == null) {
      int slash = path.lastIndexOf('/');
      Ops parent = slash < 0 ? root : scope(root, made, path.substring(0, slash));
      s = parent.withSubScope(path.substring(slash + 1));
      made.put(path, s);
    }
    return s;
  }

  /**
   * Multi-head self-attention over [B*T, H]. FULL uses scaled dot-product softmax attention with
   * padding masked by adding -10000 to its logits. RELAXED uses linear attention (Katharopoulos et
   * al. 2020, eq. 6) with φ = elu + 1: never builds a T×T matrix, costs O(T·D²) per head, and masks
   * padding by zeroing φ(K) at pad positions; or, with {@code "attention": "softmax"} in the
   * relaxed block, FULL's softmax attention. A FULL model built with a softmax share m ({@link
   * VariableStore#withSoftmaxShare}) blends the two.
   *
   * @return the per-head contexts concatenated, [B*T, H]
   */
  private Operand<TFloat32> attentionLayer(
      Ops self,
      Operand<TFloat32> x,
      Operand<TFloat32> mask,
      Operand<TInt32> batch,
      Operand<TInt32> seq) {
    List<Operand<TFloat32>> projected = queryKeyValue(self, x); // 3 × [B*T, H]
    Operand<TFloat32> q = splitHeads(projected.get(0), batch, seq); // [B, N, T, D]
    Operand<TFloat32> k = splitHeads(projected.get(1), batch, seq); // [B, N, T, D]
    Operand<TFloat32> v = splitHeads(projected.get(2), batch, seq); // [B, N, T, D]
    boolean softmax = variant == Variant.FULL || !cfg.requireRelaxed().linearAttention();
    Operand<TFloat32> context =
        softmax
            ? softmaxAttention(
                tf,
                layers,
                q,
                k,
                v,
                mask,
                cfg.headSize(),
                probs -> dropout(probs, cfg.attentionProbsDropoutProb()))
            : linearAttention(tf, layers, q, k, v, mask); // [B, N, T, D]
    if (variant == Variant.FULL && layers.softmaxShare().isPresent()) {
      // CoRe's blended start of phase 2: (1 − m)·linear + m·softmax, exact at m = 0 and m = 1.
      Operand<TFloat32> m = layers.softmaxShare().get();
      Operand<TFloat32> linear = linearAttention(tf, layers, q, k, v, mask); // [B, N, T, D]
      context =
          tf.math.add(
              tf.math.mul(tf.math.sub(tf.constant(1f), m), linear), tf.math.mul(m, context));
    }
    // [B, N, T, D] -> [B, T, N, D] -> [B*T, H]
    Operand<TFloat32> merged = tf.linalg.transpose(context, tf.constant(new int[] {0, 2, 1, 3}));
    return tf.reshape(merged, tf.constant(new int[] {-1, cfg.hiddenSize()}));
  }

  /**
   * The query, key and value projections of x [B*T, H], each [B*T, H], under {@code self/query},
   * {@code self/key} and {@code self/value}. Fused, the three kernels are concatenated into one [H,
   * 3H] matmul (in the relaxed model with factorised attention, the three U factors into one [H,
   * 3R] matmul): one large product keeps a CPU's cores busier than three small ones, and the
   * checkpoint still holds three named kernels.
   */
  private List<Operand<TFloat32>> queryKeyValue(Ops self, Operand<TFloat32> x) {
    int h = cfg.hiddenSize();
    int rank = attentionRank();
    List<Ops> scopes =
        List.of(self.withSubScope(QUERY), self.withSubScope(KEY), self.withSubScope(VALUE));
    if (!layers.fusedQkv()) {
      return scopes.stream().map(scope -> dense(scope, x, h, h, rank)).toList();
    }
    // Variables in the unfused order (kernel or U, V, then bias, per projection).
    List<Operand<TFloat32>> first = new ArrayList<>(); // 3 × [H, H], or the U factors 3 × [H, R]
    List<Operand<TFloat32>> second = new ArrayList<>(); // the V factors 3 × [R, H]
    List<Operand<TFloat32>> biases = new ArrayList<>(); // 3 × [H]
    for (Ops scope : scopes) {
      if (rank == 0) {
        first.add(tf.identity(weight(scope, KERNEL, Shape.of(h, h))));
      } else {
        Layers.Factors uv = layers.factors(scope, h, h, cfg.initializerRange(), rank);
        first.add(uv.u());
        second.add(uv.v());
      }
      biases.add(tf.identity(layers.constant(scope, BIAS, h, 0f)));
    }
    Operand<TInt32> columns = tf.constant(1);
    Operand<TFloat32> fused =
        layers.matMul(x, tf.concat(first, columns), false); // [B*T, 3H] or [B*T, 3R]
    List<Operand<TFloat32>> parts = new ArrayList<>();
    tf.split(columns, fused, 3L).output().forEach(parts::add); // 3 × [B*T, H] or 3 × [B*T, R]
    List<Operand<TFloat32>> out = new ArrayList<>();
    for (int j = 0; j < 3; j++) {
      Operand<TFloat32> y =
          rank == 0 ? parts.get(j) : layers.matMul(parts.get(j), second.get(j), false);
      out.add(tf.math.add(y, biases.get(j))); // [B*T, H]
    }
    return out;
  }

  /**
   * Scaled dot-product attention (Vaswani et al. 2017 §3.2.1), per head: softmax(Q·Kᵀ/√D + adder)·V
   * with adder -10000 at padded keys.
   *
   * @param q float [B, N, T, D], likewise k and v
   * @param mask float [B, T], 1 for real tokens and 0 for padding
   * @param probsDropout applied to the attention probabilities [B, N, T, T]
   * @return float [B, N, T, D]
   */
  static Operand<TFloat32> softmaxAttention(
      Ops tf,
      Layers layers,
      Operand<TFloat32> q,
      Operand<TFloat32> k,
      Operand<TFloat32> v,
      Operand<TFloat32> mask,
      int headSize,
      UnaryOperator<Operand<TFloat32>> probsDropout) {
    Operand<TFloat32> scores = layers.batchMatMul(q, k, false, true); // [B, N, T, T]
    scores = tf.math.mul(scores, tf.constant((float) (1.0 / Math.sqrt(headSize))));
    // mask [B, T] -> [B, 1, 1, T]: each query ignores padded keys.
    Operand<TFloat32> keyMask = tf.expandDims(tf.expandDims(mask, tf.constant(1)), tf.constant(1));
    Operand<TFloat32> adder =
        tf.math.mul(tf.math.sub(tf.constant(1f), keyMask), tf.constant(MASK_ADDER));
    Operand<TFloat32> probs = tf.nn.softmax(tf.math.add(scores, adder)); // [B, N, T, T]
    return layers.batchMatMul(probsDropout.apply(probs), v, false, false); // [B, N, T, D]
  }

  /**
   * Linear attention (Katharopoulos et al. 2020, eq. 6), per head: with φ = elu + 1, the output at
   * i is φ(Q_i)·Σ_j φ(K_j)ᵀV_j / (φ(Q_i)·Σ_j φ(K_j) + ε). Padded keys are masked by zeroing φ(K_j);
   * no T×T matrix is built.
   *
   * @param q float [B, N, T, D], likewise k and v
   * @param mask float [B, T], 1 for real tokens and 0 for padding
   * @return float [B, N, T, D]
   */
  static Operand<TFloat32> linearAttention(
      Ops tf,
      Layers layers,
      Operand<TFloat32> q,
      Operand<TFloat32> k,
      Operand<TFloat32> v,
      Operand<TFloat32> mask) {
    Operand<TFloat32> one = tf.constant(1f);
    Operand<TFloat32> phiQ = tf.math.add(tf.nn.elu(q), one); // [B, N, T, D], > 0
    // mask [B, T] -> [B, 1, T, 1]: padded keys contribute nothing to the sums below.
    Operand<TFloat32> keyMask = tf.expandDims(tf.expandDims(mask, tf.constant(1)), tf.constant(3));
    Operand<TFloat32> phiK = tf.math.mul(tf.math.add(tf.nn.elu(k), one), keyMask); // [B, N, T, D]
    Operand<TFloat32> kv = layers.batchMatMul(phiK, v, true, false); // [B, N, D, D]
    Operand<TFloat32> kSum = tf.sum(phiK, tf.constant(2), Sum.keepDims(true)); // [B, N, 1, D]
    Operand<TFloat32> numerator = layers.batchMatMul(phiQ, kv, false, false); // [B, N, T, D]
    Operand<TFloat32> normaliser = layers.batchMatMul(phiQ, kSum, false, true); // [B, N, T, 1]
    return tf.math.div(numerator, tf.math.add(normaliser, tf.constant(LINEAR_ATTENTION_EPS)));
  }

  /** [B*T, H] -> [B, N, T, D]. */
  private Operand<TFloat32> splitHeads(
      Operand<TFloat32> x, Operand<TInt32> batch, Operand<TInt32> seq) {
    Operand<TFloat32> x4 =
        tf.reshape(x, Shapes.dims(tf, batch, seq, cfg.numAttentionHeads(), cfg.headSize()));
    return tf.linalg.transpose(x4, tf.constant(new int[] {0, 2, 1, 3}));
  }

  /** Takes the [CLS] vector of each sequence through a tanh dense layer: [B*T, H] -> [B, H]. */
  private Operand<TFloat32> pooler(
      Ops pooler, Operand<TFloat32> sequence, Operand<TInt32> batch, Operand<TInt32> seq) {
    int h = cfg.hiddenSize();
    Operand<TFloat32> x3 = tf.reshape(sequence, Shapes.dims(tf, batch, seq, h)); // [B, T, H]
    Operand<TFloat32> first =
        tf.reshape(
            tf.slice(x3, tf.constant(new int[] {0, 0, 0}), tf.constant(new int[] {-1, 1, -1})),
            tf.constant(new int[] {-1, h})); // [B, H]
    return tf.withName("pooled_output")
        .math
        .tanh(layers.dense(pooler.withSubScope(DENSE), first, h, h, cfg.initializerRange()));
  }

  /** A dense layer whose kernel is full (rank 0) or the product U·V of the given rank. */
  private Operand<TFloat32> dense(Ops scope, Operand<TFloat32> x, int in, int out, int rank) {
    return layers.dense(scope, x, in, out, cfg.initializerRange(), rank);
  }

  /**
   * Rank of the FFN kernels: 0 (full) in BERT, the relaxed block's ffn_rank in the relaxed model.
   */
  private int ffnRank() {
    return variant == Variant.RELAXED ? cfg.requireRelaxed().ffnRank() : 0;
  }

  /** Rank of the Q, K, V and O kernels: 0 (full) unless the relaxed model factorises them. */
  private int attentionRank() {
    return variant == Variant.RELAXED ? cfg.requireRelaxed().attentionRank() : 0;
  }

  /** Inverted dropout: keep with probability 1-p and scale by 1/(1-p); identity when p = 0. */
  private Operand<TFloat32> dropout(Operand<TFloat32> x, double p) {
    if (p == 0) {
      return x;
    }
    Operand<TFloat32> u =
        tf.random.randomUniform(
            tf.shape(x),
            TFloat32.class,
            RandomUniform.seed(seed),
            RandomUniform.seed2((long) ++dropoutCount));
    Operand<TFloat32> keep =
        tf.dtypes.cast(tf.math.greaterEqual(u, tf.constant((float) p)), TFloat32.class);
    return tf.math.mul(x, tf.math.mul(keep, tf.constant((float) (1 / (1 - p)))));
  }

  private Variable<TFloat32> weight(Ops scope, String name, Shape shape) {
    return layers.truncatedNormal(scope, name, shape, cfg.initializerRange());
  }
}
