package corebert.model;

/** Names of the ops that sessions feed and fetch; graph builders name their ops with these. */
public final class Endpoints {
  private Endpoints() {}

  public static final String INPUT_IDS = "input_ids";
  public static final String INPUT_MASK = "input_mask";
  public static final String SEGMENT_IDS = "segment_ids";
  public static final String MASKED_LM_POSITIONS = "masked_lm_positions";
  public static final String MASKED_LM_IDS = "masked_lm_ids";
  public static final String MASKED_LM_WEIGHTS = "masked_lm_weights";
  public static final String NEXT_SENTENCE_LABELS = "next_sentence_labels";

  public static final String TOTAL_LOSS = "total_loss";
  public static final String MLM_LOSS = "mlm_loss";
  public static final String NSP_LOSS = "nsp_loss";
  public static final String MLM_ACCURACY = "mlm_accuracy";
  public static final String NSP_ACCURACY = "nsp_accuracy";
  public static final String LEARNING_RATE = "learning_rate";
  public static final String GRAD_NORM = "grad_norm";
  public static final String UPDATE_APPLIED = "update_applied";
  public static final String TRAIN_OP = "train_op";
  public static final String INPUT_INIT = "input_init";

  /** Export signature names, as TF Hub's BERT encoders use. */
  public static final String SERVING_WORD_IDS = "input_word_ids";

  public static final String SERVING_MASK = "input_mask";
  public static final String SERVING_TYPE_IDS = "input_type_ids";
  public static final String SEQUENCE_OUTPUT = "sequence_output";
  public static final String POOLED_OUTPUT = "pooled_output";
}
