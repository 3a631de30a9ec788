package corebert.glue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The nine GLUE tasks: where their text and label sit in the official TSV files, which labels they
 * have and how they are scored. Column layouts and label lists follow google-research/bert's
 * run_classifier.py (and the official GLUE files for the tasks it has no processor for), so that a
 * label index here is the same class index a BERT checkpoint fine-tuned there would predict.
 */
public enum GlueTask implements Task {
  COLA("cola", false, 4, false, 3, -1, 1, List.of("0", "1")),
  SST2("sst-2", true, 2, false, 0, -1, 1, List.of("0", "1")),
  MRPC("mrpc", true, 5, false, 3, 4, 0, List.of("0", "1")),
  STSB("sts-b", true, 10, false, 7, 8, 9, List.of()),
  QQP("qqp", true, 6, false, 3, 4, 5, List.of("0", "1")),
  /** Train has 12 columns, dev 16 (extra annotator labels); the gold label is always the last. */
  MNLI("mnli", true, 12, true, 8, 9, -1, List.of("contradiction", "entailment", "neutral")),
  QNLI("qnli", true, 4, false, 1, 2, 3, List.of("entailment", "not_entailment")),
  RTE("rte", true, 4, false, 1, 2, 3, List.of("entailment", "not_entailment")),
  WNLI("wnli", true, 4, false, 1, 2, 3, List.of("0", "1"));

  /** STS-B similarity scores are annotated on this closed scale. */
  private static final double MAX_SCORE = 5.0;

  private final String displayName;
  private final boolean header;
  private final int columns;
  private final boolean atLeastColumns;
  private final int textA;
  private final int textB;
  private final int label;
  private final List<String> labels;

  /**
   * @param textB column of the second sentence, -1 for single-sentence tasks
   * @param label column of the label, -1 for the last column
   */
  GlueTask(
      String displayName,
      boolean header,
      int columns,
      boolean atLeastColumns,
      int textA,
      int textB,
      int label,
      List<String> labels) {
    this.displayName = displayName;
    this.header = header;
    this.columns = columns;
    this.atLeastColumns = atLeastColumns;
    this.textA = textA;
    this.textB = textB;
    this.label = label;
    this.labels = labels;
  }

  /** The task called {@code name}, case-insensitively, with or without GLUE's hyphen. */
  public static GlueTask fromName(String name) {
    String wanted = name.toLowerCase(Locale.ROOT);
    for (GlueTask task : values()) {
      if (task.displayName.equals(wanted) || task.displayName.replace("-", "").equals(wanted)) {
        return task;
      }
    }
    throw new IllegalArgumentException(
        "unknown task '"
            + name
            + "'; known tasks: "
            + Stream.of(values()).map(GlueTask::displayName).collect(Collectors.joining(", ")));
  }

  /** The task's name as GLUE spells it, e.g. "sst-2". */
  @Override
  public String displayName() {
    return displayName;
  }

  /** Whether the label is a real-valued score (STS-B) rather than a class. */
  @Override
  public boolean isRegression() {
    return this == STSB;
  }

  /** The class labels, in the order that defines their indices; empty for regression. */
  @Override
  public List<String> labels() {
    return labels;
  }

  /** The dev splits' file names; MNLI has a matched and a mismatched one. */
  @Override
  public List<String> devFiles() {
    return this == MNLI ? List.of("dev_matched.tsv", "dev_mismatched.tsv") : List.of("dev.tsv");
  }

  /**
   * Reads a labelled GLUE TSV file. Fields are split on tabs only, with no quote handling, as
   * run_classifier.py does: GLUE sentences contain unbalanced quotes. Rows with the wrong number of
   * columns and labels this task does not have are refused with the file and line, rather than
   * being trained on.
   */
  @Override
  public List<GlueExample> read(Path tsv) {
    if (!Files.isRegularFile(tsv)) {
      throw new IllegalArgumentException("no such " + displayName + " data file: " + tsv);
    }
    List<GlueExample> examples = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(tsv, StandardCharsets.UTF_8)) {
      int lineNumber = 0;
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lineNumber++;
        if ((header && lineNumber == 1) || line.isBlank()) {
          continue;
        }
        examples.add(parse(line.split("\t", -1), tsv + ":" + lineNumber));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + tsv, e);
    }
    if (examples.isEmpty()) {
      throw new IllegalArgumentException(tsv + ": no " + displayName + " examples");
    }
    return examples;
  }

  private GlueExample parse(String[] fields, String where) {
    if (atLeastColumns ? fields.length < columns : fields.length != columns) {
      throw new IllegalArgumentException(
          where
              + ": expected "
              + (atLeastColumns ? "at least " : "")
              + columns
              + " columns for "
              + displayName
              + ", got "
              + fields.length);
    }
    String value = fields[label < 0 ? fields.length - 1 : label];
    if (isRegression()) {
      checkScore(value, where);
    } else if (!labels.contains(value)) {
      throw new IllegalArgumentException(
          where + ": label '" + value + "' is not one of " + labels + " for " + displayName);
    }
    return new GlueExample(fields[textA], textB < 0 ? null : fields[textB], value);
  }

  private void checkScore(String value, String where) {
    double score;
    try {
      score = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          where + ": score '" + value + "' is not a number for " + displayName);
    }
    if (!(score >= 0 && score <= MAX_SCORE)) {
      throw new IllegalArgumentException(
          where + ": score " + value + " is outside [0, " + MAX_SCORE + "] for " + displayName);
    }
  }

  /**
   * The GLUE metrics of this task, in reporting order. For classification, {@code predictions} and
   * {@code gold} are label indices into {@link #labels()}; for STS-B they are scores.
   */
  @Override
  public Map<String, Double> metrics(double[] predictions, double[] gold) {
    Map<String, Double> out = new LinkedHashMap<>();
    if (isRegression()) {
      out.put("pearson", GlueMetrics.pearson(predictions, gold));
      out.put("spearman", GlueMetrics.spearman(predictions, gold));
      return Collections.unmodifiableMap(out);
    }
    int[] pred = indices(predictions);
    int[] truth = indices(gold);
    out.put("accuracy", GlueMetrics.accuracy(pred, truth));
    if (this == MRPC || this == QQP) {
      out.put("f1", GlueMetrics.f1(pred, truth, 1));
    } else if (this == COLA) {
      out.put("matthews_corr", GlueMetrics.matthewsCorrelation(pred, truth));
    }
    return Collections.unmodifiableMap(out);
  }

  /** Label indices given as doubles, refusing anything that is not one of this task's indices. */
  private int[] indices(double[] values) {
    int[] out = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      double v = values[i];
      if (v != Math.rint(v) || v < 0 || v >= labels.size()) {
        throw new IllegalArgumentException(
            v + " is not a label index of " + displayName + " " + labels);
      }
      out[i] = (int) v;
    }
    return out;
  }
}
