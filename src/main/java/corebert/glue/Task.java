package corebert.glue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A labelled text task that {@link FineTuner} trains on: a GLUE task, or any TSV file's columns.
 */
public interface Task {
  /** The task's name in logs and results, e.g. "sst-2". */
  String displayName();

  /** Whether the label is a real-valued score rather than a class. */
  boolean isRegression();

  /** The class labels, in the order that defines their indices; empty for regression. */
  List<String> labels();

  /** The training split's file name inside the task's data directory. */
  default String trainFile() {
    return "train.tsv";
  }

  /** The dev splits' file names. */
  List<String> devFiles();

  /** Reads a labelled file; bad rows are refused with the file and line. */
  List<GlueExample> read(Path tsv);

  /**
   * The task's metrics, in reporting order: {@code predictions} and {@code gold} are label indices
   * into {@link #labels()}, or scores for regression.
   */
  Map<String, Double> metrics(double[] predictions, double[] gold);
}
