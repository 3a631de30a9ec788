package corebert.train;

/**
 * The layout of a run's output directory, in one place. A {@code pretrain} run holds its
 * checkpoints ({@link Checkpoints}) and:
 *
 * <pre>
 *   bert_config.json    the architecture (google-research/bert keys); a resume takes it from here
 *   train_config.json   the training settings
 *   metrics.jsonl       one JSON record per logged step
 * </pre>
 *
 * A {@code core} run holds {@code metrics.jsonl} (both phases, phase-tagged), {@code relaxed/}
 * (phase 1, a pretrain run) and {@code full/} (surgery's checkpoint with {@code surgery.json}, then
 * phase 2).
 */
public final class RunDir {
  public static final String BERT_CONFIG = "bert_config.json";
  public static final String TRAIN_CONFIG = "train_config.json";
  public static final String METRICS = "metrics.jsonl";
  public static final String CORE_RELAXED = "relaxed";
  public static final String CORE_FULL = "full";
  public static final String SURGERY_REPORT = "surgery.json";

  private RunDir() {}
}
