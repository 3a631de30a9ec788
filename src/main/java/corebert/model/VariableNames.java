package corebert.model;

/**
 * Every checkpoint variable name, byte for byte as google-research/bert writes them, so that
 * checkpoints convert with the usual BERT tools and Google's checkpoints load here. Built here and
 * nowhere else.
 */
public final class VariableNames {
  private VariableNames() {}

  public static final String BERT = "bert";
  public static final String EMBEDDINGS = "embeddings";
  public static final String WORD_EMBEDDINGS = "word_embeddings";
  public static final String TOKEN_TYPE_EMBEDDINGS = "token_type_embeddings";
  public static final String POSITION_EMBEDDINGS = "position_embeddings";
  public static final String ENCODER = "encoder";
  public static final String POOLER = "pooler";
  public static final String CLS = "cls";
  public static final String PREDICTIONS = "predictions";
  public static final String TRANSFORM = "transform";
  public static final String SEQ_RELATIONSHIP = "seq_relationship";
  public static final String ATTENTION = "attention";
  public static final String SELF = "self";
  public static final String QUERY = "query";
  public static final String KEY = "key";
  public static final String VALUE = "value";
  public static final String OUTPUT = "output";
  public static final String INTERMEDIATE = "intermediate";
  public static final String DENSE = "dense";
  public static final String LAYER_NORM = "LayerNorm";
  public static final String KERNEL = "kernel";
  public static final String BIAS = "bias";
  public static final String GAMMA = "gamma";
  public static final String BETA = "beta";
  public static final String OUTPUT_BIAS = "output_bias";
  public static final String OUTPUT_WEIGHTS = "output_weights";

  /**
   * The relaxed model's factorised kernels (FFN, and Q/K/V/O with attention_rank): kernel =
   * kernel_u · kernel_v.
   */
  public static final String KERNEL_U = "kernel_u";

  public static final String KERNEL_V = "kernel_v";

  /** Optimizer slots, as google-research/bert's AdamWeightDecayOptimizer names them. */
  public static final String ADAM_M = "adam_m";

  public static final String ADAM_V = "adam_v";
  public static final String GLOBAL_STEP = "global_step";

  /**
   * U of the factorised kernel named {@code kernel} ({@code .../kernel} → {@code .../kernel_u}).
   */
  public static String factorU(String kernel) {
    return kernel.substring(0, kernel.length() - KERNEL.length()) + KERNEL_U;
  }

  /** V of the factorised kernel named {@code kernel}. */
  public static String factorV(String kernel) {
    return kernel.substring(0, kernel.length() - KERNEL.length()) + KERNEL_V;
  }

  public static String layer(int i) {
    return "layer_" + i;
  }

  public static String wordEmbeddings() {
    return join(BERT, EMBEDDINGS, WORD_EMBEDDINGS);
  }

  public static String slot(String variable, String slot) {
    return variable + "/" + slot;
  }

  public static String join(String... parts) {
    return String.join("/", parts);
  }

  /** Whether google-research/bert exempts this variable from weight decay. */
  public static boolean excludedFromWeightDecay(String name) {
    return name.contains(LAYER_NORM) || name.contains("layer_norm") || name.endsWith(BIAS);
  }
}
