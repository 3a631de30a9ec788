package corebert.glue;

import corebert.data.FullTokenizer;
import corebert.data.Vocab;
import java.util.ArrayList;
import java.util.List;

/**
 * GLUE examples as fixed-length BERT inputs, as run_classifier.py's convert_single_example: {@code
 * [CLS] A [SEP]} or {@code [CLS] A [SEP] B [SEP]}, segment 0 up to the first [SEP] and 1 after,
 * padded with 0; the longer text of a pair loses tokens first.
 *
 * @param ids int [N * T] row-major
 * @param mask int [N * T]
 * @param types int [N * T]
 * @param labels float [N]: class index, or the score for regression
 */
public record Features(int n, int seq, int[] ids, int[] mask, int[] types, float[] labels) {

  public static Features of(
      List<GlueExample> examples, Task task, FullTokenizer tokenizer, int seq) {
    int n = examples.size();
    int[] ids = new int[n * seq];
    int[] mask = new int[n * seq];
    int[] types = new int[n * seq];
    float[] labels = new float[n];
    Vocab vocab = tokenizer.vocab();
    for (int i = 0; i < n; i++) {
      GlueExample ex = examples.get(i);
      List<String> a = new ArrayList<>(tokenizer.tokenize(ex.textA()));
      List<String> b = ex.textB() == null ? null : new ArrayList<>(tokenizer.tokenize(ex.textB()));
      if (b == null) {
        if (a.size() > seq - 2) {
          a = a.subList(0, seq - 2); // room for [CLS] and [SEP]
        }
      } else {
        while (a.size() + b.size() > seq - 3) { // room for [CLS] and two [SEP]
          (a.size() > b.size() ? a : b).remove((a.size() > b.size() ? a : b).size() - 1);
        }
      }
      int at = i * seq;
      int t = 0;
      ids[at + t++] = vocab.clsId();
      for (int id : tokenizer.toIds(a)) {
        ids[at + t++] = id;
      }
      ids[at + t++] = vocab.sepId();
      if (b != null) {
        int segmentB = t;
        for (int id : tokenizer.toIds(b)) {
          ids[at + t++] = id;
        }
        ids[at + t++] = vocab.sepId();
        for (int k = segmentB; k < t; k++) {
          types[at + k] = 1;
        }
      }
      for (int k = 0; k < t; k++) {
        mask[at + k] = 1;
      }
      labels[i] =
          task.isRegression() ? Float.parseFloat(ex.label()) : task.labels().indexOf(ex.label());
    }
    return new Features(n, seq, ids, mask, types, labels);
  }
}
