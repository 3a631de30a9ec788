package corebert.glue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Classification on any labelled TSV file ({@code train.tsv} and {@code dev.tsv} in one folder):
 * the text in one column, an optional second text, the label in another, any number of classes.
 * Fields are split on tabs only, as for GLUE. Every row must have as many columns as the first; a
 * short row or an unknown label is refused with the file and line. Scored by accuracy and macro-F1
 * (the mean of each class's F1, so that a rare class counts as much as a common one).
 *
 * @param textColumn 0-based column of the text
 * @param textBColumn column of the second text of a pair, or -1
 * @param labelColumn column of the label
 * @param header whether each file's first line names the columns
 * @param labels the classes, in the order that defines their indices
 */
public record TsvTask(
    int textColumn, int textBColumn, int labelColumn, boolean header, List<String> labels)
    implements Task {
  public static final String NAME = "tsv";

  public TsvTask {
    if (textColumn < 0 || labelColumn < 0 || textBColumn < -1) {
      throw new IllegalArgumentException("TSV columns count from 0");
    }
    if (textColumn == labelColumn || textBColumn == labelColumn || textBColumn == textColumn) {
      throw new IllegalArgumentException("the text, second text and label columns must differ");
    }
    if (labels.size() < 2 || new TreeSet<>(labels).size() != labels.size()) {
      throw new IllegalArgumentException("need at least two distinct labels, got " + labels);
    }
    labels = List.copyOf(labels);
  }

  /** The distinct labels of a file's label column, sorted: the classes when none are given. */
  public static List<String> labelsOf(Path tsv, int labelColumn, boolean header) {
    TreeSet<String> seen = new TreeSet<>();
    forEachRow(tsv, header, (fields, where) -> seen.add(field(fields, labelColumn, where)));
    return List.copyOf(seen);
  }

  @Override
  public String displayName() {
    return NAME;
  }

  @Override
  public boolean isRegression() {
    return false;
  }

  @Override
  public List<String> devFiles() {
    return List.of("dev.tsv");
  }

  @Override
  public List<GlueExample> read(Path tsv) {
    List<GlueExample> examples = new ArrayList<>();
    forEachRow(
        tsv,
        header,
        (fields, where) -> {
          String label = field(fields, labelColumn, where);
          if (!labels.contains(label)) {
            throw new IllegalArgumentException(
                where + ": label '" + label + "' is not one of " + labels);
          }
          examples.add(
              new GlueExample(
                  field(fields, textColumn, where),
                  textBColumn < 0 ? null : field(fields, textBColumn, where),
                  label));
        });
    if (examples.isEmpty()) {
      throw new IllegalArgumentException(tsv + ": no examples");
    }
    return examples;
  }

  @Override
  public Map<String, Double> metrics(double[] predictions, double[] gold) {
    int[] pred = new int[predictions.length];
    int[] truth = new int[gold.length];
    for (int i = 0; i < pred.length; i++) {
      pred[i] = (int) predictions[i];
    }
    for (int i = 0; i < truth.length; i++) {
      truth[i] = (int) gold[i];
    }
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("accuracy", GlueMetrics.accuracy(pred, truth));
    m.put("macro_f1", GlueMetrics.macroF1(pred, truth, labels.size()));
    return m;
  }

  private interface RowHandler {
    void row(String[] fields, String where);
  }

  /** Calls {@code handler} with each non-blank data row, checking the column count. */
  private static void forEachRow(Path tsv, boolean header, RowHandler handler) {
    if (!Files.isRegularFile(tsv)) {
      throw new IllegalArgumentException("no such TSV file: " + tsv);
    }
    try (BufferedReader reader = Files.newBufferedReader(tsv, StandardCharsets.UTF_8)) {
      int columns = -1;
      int lineNumber = 0;
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lineNumber++;
        if ((header && lineNumber == 1) || line.isBlank()) {
          continue;
        }
        String[] fields = line.split("\t", -1);
        String where = tsv + ":" + lineNumber;
        if (columns < 0) {
          columns = fields.length;
        } else if (fields.length != columns) {
          throw new IllegalArgumentException(
              where + ": " + fields.length + " columns, but the first row has " + columns);
        }
        handler.row(fields, where);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + tsv, e);
    }
  }

  private static String field(String[] fields, int column, String where) {
    if (column >= fields.length) {
      throw new IllegalArgumentException(
          where + ": no column " + column + " (the row has " + fields.length + ", counted from 0)");
    }
    return fields[column];
  }
}
