package corebert.glue;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.databind.node.ObjectNode;
import corebert.data.FullTokenizer;
import corebert.data.Vocab;
import corebert.export.ExportFormat;
import corebert.export.HuggingFaceExport;
import corebert.export.SavedModelExport;
import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.BertModel.Variant;
import corebert.model.ClassifierHead;
import corebert.model.Endpoints;
import corebert.model.VariableNames;
import corebert.model.VariableStore;
import corebert.train.AdamWeightDecay;
import corebert.train.Checkpoints;
import corebert.train.LrSchedule;
import corebert.train.ModelRestore;
import corebert.train.PretrainingModel;
import corebert.train.RunDir;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.logging.Logger;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Fine-tunes a pretrained BERT on a GLUE-format task, as google-research/bert's run_classifier.py:
 * the pretrained encoder, a linear head on the pooled [CLS] vector, softmax cross-entropy (mean
 * squared error for STS-B), AdamWeightDecay with 10% linear warm-up. Batches are built on the host
 * from the TSVs (they are small); the dev metrics come from a separate dropout-free graph loaded
 * from the fine-tuned checkpoint.
 */
public final class FineTuner {
  private static final Logger LOG = Logger.getLogger(FineTuner.class.getName());
  public static final String EVAL_RESULTS = "eval_results.json";
  private static final double WARMUP_FRACTION = 0.1; // run_classifier.py's warmup_proportion

  /** What to fine-tune on, from what, and how. */
  public record Settings(
      Task task,
      Path dataDir,
      Optional<Path> checkpoint,
      BertConfig cfg,
      Path vocab,
      Path outputDir,
      int epochs,
      double learningRate,
      int batchSize,
      int maxSeqLength,
      long seed,
      boolean lowerCase,
      List<ExportFormat> exports) {}

  /**
   * {@code eval_results.json}: the task's display name, then its dev metrics by name, sorted as
   * run_classifier.py writes them (accuracy, f1, mcc, pearson, spearman, eval_examples; MNLI's
   * prefixed by dev file). One flat JSON object, so the record maps itself.
   */
  public record Results(String task, SortedMap<String, Double> metrics) {
    public Results {
      metrics = Collections.unmodifiableSortedMap(new TreeMap<>(metrics));
    }

    /** A metric by name; an error lists the metrics there are. */
    public double metric(String name) {
      Double v = metrics.get(name);
      if (v == null) {
        throw new IllegalArgumentException(
            "no dev metric '" + name + "' for " + task + "; there are " + metrics.keySet());
      }
      return v;
    }

    @JsonValue
    ObjectNode json() {
      ObjectNode o = Jackson.MAPPER.createObjectNode().put("task", task);
      metrics.forEach(o::put);
      return o;
    }

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Results of(ObjectNode json) {
      SortedMap<String, Double> metrics = new TreeMap<>();
      json.properties()
          .forEach(
              e -> {
                if (!e.getKey().equals("task")) {
                  if (!e.getValue().isNumber()) {
                    throw new IllegalArgumentException(
                        "dev metric '" + e.getKey() + "' is not a number: " + e.getValue());
                  }
                  metrics.put(e.getKey(), e.getValue().asDouble());
                }
              });
      return new Results(json.path("task").asText(), metrics);
    }
  }

  /** Where {@code --export} puts the fine-tuned classifier's SavedModel, inside the output dir. */
  public static final String SAVED_MODEL = "saved_model";

  /** Where {@code --export --format huggingface} puts it. */
  public static final String HUGGING_FACE = "huggingface";

  private FineTuner() {}

  /**
   * Trains, saves the fine-tuned checkpoint, and returns the dev metrics (also in
   * eval_results.json).
   */
  public static Results run(Settings s) {
    if (s.maxSeqLength() > s.cfg().maxPositionEmbeddings()) {
      throw new IllegalArgumentException(
          "sequence length "
              + s.maxSeqLength()
              + " exceeds max_position_embeddings "
              + s.cfg().maxPositionEmbeddings());
    }
    FullTokenizer tokenizer = new FullTokenizer(Vocab.load(s.vocab()), s.lowerCase());
    Task task = s.task();
    Features train =
        Features.of(
            task.read(s.dataDir().resolve(task.trainFile())), task, tokenizer, s.maxSeqLength());
    int outputs = task.isRegression() ? 1 : task.labels().size();
    long totalSteps = (train.n() + s.batchSize() - 1) / s.batchSize() * s.epochs();
    LOG.info(
        String.format(
            "fine-tune %s: %d training examples, %d epochs, %d steps, batch %d, seq %d",
            task.displayName(),
            train.n(),
            s.epochs(),
            totalSteps,
            s.batchSize(),
            s.maxSeqLength()));
    Path fineTuned = train(s, train, outputs, totalSteps);
    s.cfg().writeTo(s.outputDir().resolve(RunDir.BERT_CONFIG));
    Results results = evaluate(s, tokenizer, outputs, fineTuned);
    Checkpoints.writeAtomically(s.outputDir().resolve(EVAL_RESULTS), Jackson.writePretty(results));
    return results;
  }

  /**
   * Builds the classifier, restores its encoder from the checkpoint (or leaves it random), trains
   * it, and returns the fine-tuned checkpoint.
   */
  private static Path train(Settings s, Features train, int outputs, long totalSteps) {
    try (Graph g = new Graph()) {
      Classifier c =
          Classifier.build(Ops.create(g), s.cfg(), outputs, s.task().isRegression(), s.seed());
      List<Variable<TFloat32>> vars = ModelRestore.variablesSoFar(g);
      List<Variable<TFloat32>> encoder =
          vars.stream().filter(v -> v.op().name().startsWith(VariableNames.BERT + "/")).toList();
      Ops tf = Ops.create(g);
      ModelRestore restore = ModelRestore.build(tf, encoder);
      Variable<TInt64> step = PretrainingModel.globalStep(tf);
      LrSchedule schedule =
          new LrSchedule(s.learningRate(), 0, (long) (totalSteps * WARMUP_FRACTION), totalSteps);
      AdamWeightDecay.Update update =
          AdamWeightDecay.build(
              tf,
              g,
              c.loss,
              vars,
              schedule.build(tf, tf.identity(step)),
              step,
              AdamWeightDecay.Settings.bert(AdamWeightDecay.Rule.ADAMW, false));
      try (Session session = new Session(g)) {
        session.initialize();
        if (s.checkpoint().isPresent()) {
          restore.run(session, s.checkpoint().get());
          LOG.info(
              "encoder restored from "
                  + s.checkpoint().get()
                  + "; head output_weights/output_bias fresh");
        } else {
          // What pretraining buys is measured against this.
          LOG.info("no checkpoint: the encoder keeps its random initialisation");
        }
        long done = epochs(s, session, c, update, train, totalSteps);
        return Checkpoints.save(session, s.outputDir(), done, 1);
      }
    }
  }

  /** Every epoch over the training examples in its own seeded order; returns the steps done. */
  private static long epochs(
      Settings s,
      Session session,
      Classifier c,
      AdamWeightDecay.Update update,
      Features train,
      long totalSteps) {
    Random random = new Random(s.seed());
    long done = 0;
    for (int epoch = 0; epoch < s.epochs(); epoch++) {
      int[] order = shuffled(train.n(), random);
      double lossSum = 0;
      int batches = 0;
      for (int from = 0; from < train.n(); from += s.batchSize()) {
        int to = Math.min(train.n(), from + s.batchSize());
        try (Batch b = Batch.of(train, order, from, to);
            Result r =
                b.feed(session.runner(), c).addTarget(update.trainOp()).fetch(c.loss).run()) {
          lossSum += ((TFloat32) r.get(0)).getFloat();
        }
        batches++;
        done++;
      }
      LOG.info(
          String.format(
              "epoch %d/%d: mean training loss %.4f (%d/%d steps)",
              epoch + 1, s.epochs(), lossSum / batches, done, totalSteps));
    }
    return done;
  }

  /** Dev metrics of each dev file; MNLI's two files are reported under their names. */
  private static Results evaluate(
      Settings s, FullTokenizer tokenizer, int outputs, Path checkpoint) {
    Task task = s.task();
    SortedMap<String, Double> results = new TreeMap<>();
    try (Graph g = new Graph()) {
      Classifier c =
          Classifier.build(
              Ops.create(g), s.cfg().withoutDropout(), outputs, task.isRegression(), 0);
      try (Session session = new Session(g)) {
        session.restore(checkpoint.toString());
        for (String file : task.devFiles()) {
          Features dev =
              Features.of(task.read(s.dataDir().resolve(file)), task, tokenizer, s.maxSeqLength());
          double[] predictions = new double[dev.n()];
          double[] gold = new double[dev.n()];
          int[] identity = shuffled(dev.n(), null);
          for (int from = 0; from < dev.n(); from += s.batchSize()) {
            int to = Math.min(dev.n(), from + s.batchSize());
            try (Batch b = Batch.of(dev, identity, from, to);
                Result r = b.feed(session.runner(), c).fetch(c.prediction).run()) {
              TFloat32 p = (TFloat32) r.get(0);
              for (int i = from; i < to; i++) {
                predictions[i] = p.getFloat(i - from);
                gold[i] = dev.labels()[i];
              }
            }
          }
          Map<String, Double> m = task.metrics(predictions, gold);
          if (task.devFiles().size() == 1) {
            results.putAll(m);
          } else {
            String name = file.replace(".tsv", "");
            m.forEach((k, v) -> results.put(name + "_" + k, v));
          }
          results.put(
              task.devFiles().size() == 1
                  ? "eval_examples"
                  : file.replace(".tsv", "") + "_examples",
              (double) dev.n());
        }
        for (ExportFormat format : s.exports()) {
          exportClassifier(session, c, s, ModelRestore.variablesSoFar(g), format);
        }
      }
    }
    return new Results(task.displayName(), results);
  }

  /**
   * Writes the dropout-free classifier as {@code <output>/saved_model}: {@code serving_default}
   * takes {@code input_word_ids}, {@code input_mask}, {@code input_type_ids} (int32 [B, T]) and
   * returns {@code logits} [B, K] and {@code probabilities} [B, K] (or {@code score} [B] for
   * regression); vocab and config ship in {@code assets/}. Or, in Hugging Face's format, as {@code
   * <output>/huggingface}, a BertForSequenceClassification directory.
   */
  private static void exportClassifier(
      Session session,
      Classifier c,
      Settings s,
      List<Variable<TFloat32>> vars,
      ExportFormat format) {
    boolean hf = format == ExportFormat.HUGGINGFACE;
    Path dir = s.outputDir().resolve(hf ? HUGGING_FACE : SAVED_MODEL);
    try {
      Checkpoints.deleteRecursively(dir); // a rerun replaces its own export
    } catch (IOException e) {
      throw new UncheckedIOException("cannot replace " + dir, e);
    }
    if (hf) {
      List<String> labels = s.task().isRegression() ? List.of("score") : s.task().labels();
      HuggingFaceExport.exportClassifier(
          s.cfg(), session, vars, labels, s.vocab(), s.lowerCase(), dir);
      LOG.info("exported the classifier to " + dir);
      return;
    }
    Signature.Builder signature =
        Signature.builder()
            .key(Signature.DEFAULT_KEY)
            .input(Endpoints.SERVING_WORD_IDS, c.ids)
            .input(Endpoints.SERVING_MASK, c.mask)
            .input(Endpoints.SERVING_TYPE_IDS, c.types);
    if (s.task().isRegression()) {
      signature.output("score", c.prediction);
    } else {
      signature.output("logits", c.logits).output("probabilities", c.probabilities);
    }
    SavedModelExport.write(session, signature.build(), s.cfg(), s.vocab(), dir);
    LOG.info("exported the classifier to " + dir);
  }

  private static int[] shuffled(int n, Random random) {
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    if (random != null) {
      for (int i = n - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    return order;
  }

  /** The classifier graph's endpoints. */
  private record Classifier(
      Placeholder<TInt32> ids,
      Placeholder<TInt32> mask,
      Placeholder<TInt32> types,
      Placeholder<TFloat32> labels,
      Operand<TFloat32> logits,
      Operand<TFloat32> probabilities,
      Operand<TFloat32> loss,
      Operand<TFloat32> prediction) {

    static Classifier build(Ops tf, BertConfig cfg, int outputs, boolean regression, long seed) {
      Placeholder<TInt32> ids = input(tf, "input_ids");
      Placeholder<TInt32> mask = input(tf, "input_mask");
      Placeholder<TInt32> types = input(tf, "segment_ids");
      Placeholder<TFloat32> labels =
          tf.withName("label").placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1)));
      BertModel.Outputs encoder =
          BertModel.build(tf, cfg, Variant.FULL, ids, mask, types, seed, VariableStore.create());
      Operand<TFloat32> logits =
          ClassifierHead.logits(tf, cfg, encoder.pooledOutput(), outputs, seed);
      Operand<TFloat32> loss;
      Operand<TFloat32> prediction;
      if (regression) {
        Operand<TFloat32> score = tf.reshape(logits, tf.constant(new int[] {-1})); // [B]
        loss = tf.math.mean(tf.math.square(tf.math.sub(score, labels)), tf.constant(0));
        prediction = score;
      } else {
        Operand<TFloat32> logProbs = tf.nn.logSoftmax(logits); // [B, K]
        Operand<TFloat32> oneHot =
            tf.oneHot(
                tf.dtypes.cast(labels, TInt32.class),
                tf.constant(outputs),
                tf.constant(1f),
                tf.constant(0f));
        loss =
            tf.math.neg(
                tf.math.mean(
                    tf.sum(tf.math.mul(logProbs, oneHot), tf.constant(-1)), tf.constant(0)));
        prediction =
            tf.dtypes.cast(tf.math.argMax(logits, tf.constant(-1), TInt32.class), TFloat32.class);
      }
      return new Classifier(
          ids,
          mask,
          types,
          labels,
          logits,
          tf.withName("probabilities").nn.softmax(logits),
          tf.withName("loss").identity(loss),
          prediction);
    }

    private static Placeholder<TInt32> input(Ops tf, String name) {
      return tf.withName(name).placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
    }
  }

  /** One host batch as tensors, closed together. */
  private record Batch(TInt32 ids, TInt32 mask, TInt32 types, TFloat32 labels)
      implements AutoCloseable {
    static Batch of(Features f, int[] order, int from, int to) {
      int b = to - from;
      int t = f.seq();
      int[] ids = new int[b * t];
      int[] mask = new int[b * t];
      int[] types = new int[b * t];
      float[] labels = new float[b];
      for (int i = 0; i < b; i++) {
        int row = order[from + i];
        System.arraycopy(f.ids(), row * t, ids, i * t, t);
        System.arraycopy(f.mask(), row * t, mask, i * t, t);
        System.arraycopy(f.types(), row * t, types, i * t, t);
        labels[i] = f.labels()[row];
      }
      Shape shape = Shape.of(b, t);
      return new Batch(
          TInt32.tensorOf(shape, DataBuffers.of(ids, true, false)),
          TInt32.tensorOf(shape, DataBuffers.of(mask, true, false)),
          TInt32.tensorOf(shape, DataBuffers.of(types, true, false)),
          TFloat32.tensorOf(Shape.of(b), DataBuffers.of(labels, true, false)));
    }

    Session.Runner feed(Session.Runner runner, Classifier c) {
      return runner.feed(c.ids, ids).feed(c.mask, mask).feed(c.types, types).feed(c.labels, labels);
    }

    @Override
    public void close() {
      ids.close();
      mask.close();
      types.close();
      labels.close();
    }
  }
}
