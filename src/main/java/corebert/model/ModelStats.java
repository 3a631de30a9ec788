package corebert.model;

import corebert.model.BertModel.Variant;

/**
 * Parameter count and training FLOPs per token of the full and relaxed models, counted from the
 * shapes (matmul FLOPs only: 2·m·n·k each; training = 3× forward, as in Kaplan et al. 2020 §2.1).
 *
 * @param parameters trainable scalars of the encoder and both heads
 * @param forwardFlopsPerToken encoder FLOPs per token at sequence length {@code seq}, plus the MLM
 *     head for the predicted fraction of tokens
 */
public record ModelStats(long parameters, double forwardFlopsPerToken) {

  /** Training FLOPs per token: forward plus a backward pass twice its cost. */
  public double trainFlopsPerToken() {
    return 3 * forwardFlopsPerToken;
  }

  /**
   * @param seq sequence length T
   * @param predictionFraction masked positions per token (max_predictions / max_seq_length)
   */
  public static ModelStats of(BertConfig c, Variant v, int seq, double predictionFraction) {
    long h = c.hiddenSize();
    long i = c.intermediateSize();
    long d = c.headSize();
    long layers = c.numHiddenLayers();
    boolean relaxed = v == Variant.RELAXED;
    long r = relaxed ? c.requireRelaxed().ffnRank() : 0;
    long a = relaxed ? c.requireRelaxed().attentionRank() : 0; // 0: full Q/K/V/O
    boolean linear = relaxed && c.requireRelaxed().linearAttention();

    long embeddings = (c.vocabSize() + c.maxPositionEmbeddings() + c.typeVocabSize()) * h + 2 * h;
    long projection = a > 0 ? 2 * h * a : h * h; // one of Q, K, V, O
    long attention = 4 * (projection + h) + 2 * h; // Q, K, V, O and the LayerNorm
    long ffn = relaxed ? (h * r + r * i + i) + (i * r + r * h + h) : (h * i + i) + (i * h + h);
    long perLayer = attention + ffn + 2 * h;
    long pooler = h * h + h;
    long heads = (h * h + h + 2 * h + c.vocabSize()) + (2 * h + 2);
    long params = embeddings + layers * perLayer + pooler + heads;

    // Per token: projections 4·H² (4·2·H·A factorised), attention mixing, FFN.
    double projections = 2.0 * 4 * projection;
    double mixing =
        linear
            ? 2.0 * 2 * h * d // φ(K)ᵀV accumulation and φ(Q)·(KV): 2·D² per head, N heads
            : 2.0 * 2 * seq * h; // QKᵀ and P·V: 2·T·D per head, N heads
    double feedForward = relaxed ? 2.0 * 2 * r * (h + i) : 2.0 * 2 * h * i;
    double mlmHead = predictionFraction * 2.0 * (h * h + h * c.vocabSize());
    double forward = layers * (projections + mixing + feedForward) + mlmHead;
    return new ModelStats(params, forward);
  }
}
