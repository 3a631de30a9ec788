package corebert.train;

import corebert.data.InputPipeline;
import corebert.data.ScoredTokens;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.PretrainingHeads;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.logging.Logger;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TFOutOfRangeException;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Held-out metrics of a checkpoint: one ordered pass over the data with dropout off, averaged
 * exactly over all predictions (weighted sums, not a mean of batch means).
 *
 * <p>Besides the masked-LM loss and accuracy on the records as written, it reports them with every
 * scored position shown as [MASK] ({@code _masked}): google-research's masking leaves 10% of the
 * scored tokens visible, so the plain loss also rewards copying them, while the masked one only
 * rewards what the context tells. {@code unigram_loss} is the same loss for an add-one unigram
 * model, which uses no context at all: a model whose masked loss is not below it has learned
 * nothing from context.
 */
public final class Evaluator {
  private static final Logger LOG = Logger.getLogger(Evaluator.class.getName());

  /** Counts of already scanned record sets, keyed by their files' paths, sizes and times. */
  private static final Map<List<String>, ScoredTokens> COUNTED = new HashMap<>();

  private Evaluator() {}

  /**
   * Held-out records and what the masked metrics need.
   *
   * @param inputs the held-out pretraining TFRecords
   * @param trainingInputs the training records, whose unigram model scores the held-out labels;
   *     empty: the held-out records' own (a slightly optimistic reference)
   * @param maskId [MASK]'s id; empty: read off the held-out records ({@link ScoredTokens#maskId})
   */
  public record HeldOut(List<Path> inputs, List<Path> trainingInputs, OptionalInt maskId) {
    public HeldOut {
      inputs = List.copyOf(inputs);
      trainingInputs = List.copyOf(trainingInputs);
    }

    /** {@code inputs}, with the unigram model of {@code trainingInputs} and [MASK] read off. */
    public static HeldOut of(List<Path> inputs, List<Path> trainingInputs) {
      return new HeldOut(inputs, trainingInputs, OptionalInt.empty());
    }
  }

  /**
   * What a model that uses no context scores on the held-out labels: an add-one unigram model's
   * loss and its top token's accuracy.
   *
   * @param of whose labels the unigram model counts: "training records" or "held-out records"
   */
  public record Unigram(double loss, double accuracy, String of) {}

  /** The unigram reference of {@code heldOut} for a model of {@code vocabSize} tokens. */
  public static Unigram unigram(HeldOut heldOut, int vocabSize) {
    ScoredTokens scored = counted(heldOut.inputs());
    boolean own = heldOut.trainingInputs().isEmpty();
    ScoredTokens model = own ? scored : counted(heldOut.trainingInputs());
    return new Unigram(
        model.unigramLoss(scored, vocabSize),
        model.unigramAccuracy(scored),
        own ? "held-out records" : "training records");
  }

  /** Sums over the pass, for one set of losses. */
  private static final class Sums {
    double loss;
    double correct;
    double weight;
    double nspCorrect;
  }

  /**
   * Held-out metrics: MLM loss and accuracy as the records show the scored positions, and with
   * every scored position [MASK] (no copying of visible tokens); the add-one unigram model's loss
   * and accuracy on the same positions, and which records it counted; NSP accuracy.
   */
  public record Metrics(
      double mlmLoss,
      double mlmAccuracy,
      double mlmLossMasked,
      double mlmAccuracyMasked,
      double unigramLoss,
      double unigramAccuracy,
      String unigramOf,
      double nspAccuracy,
      long examples) {}

  /** The held-out metrics of one checkpoint. */
  public static Metrics evaluate(
      BertConfig cfg, Variant variant, Path checkpoint, HeldOut heldOut, int batchSize) {
    return evaluate(cfg, variant, checkpoint, heldOut, batchSize, OptionalDouble.empty());
  }

  /**
   * As {@link #evaluate(BertConfig, Variant, Path, HeldOut, int)}; given {@code softmaxShare}, of a
   * full model whose attention blends linear attention into softmax with that share (CoRe's blended
   * start of phase 2).
   */
  public static Metrics evaluate(
      BertConfig cfg,
      Variant variant,
      Path checkpoint,
      HeldOut heldOut,
      int batchSize,
      OptionalDouble softmaxShare) {
    Unigram unigram = unigram(heldOut, cfg.vocabSize());
    int maskId =
        heldOut.maskId().isPresent()
            ? heldOut.maskId().getAsInt()
            : Math.toIntExact(counted(heldOut.inputs()).maskId());
    List<Path> inputs = heldOut.inputs();
    InputPipeline.DataShape shape = InputPipeline.inspect(inputs);
    try (PretrainingGraph g =
        PretrainingGraph.forEval(
            cfg, variant, inputs, batchSize, shape, OptionalInt.of(maskId), softmaxShare)) {
      g.initialize();
      g.restoreModel(checkpoint);
      g.startInput(0, 0);
      List<Sums> sums = List.of(new Sums(), new Sums());
      long examples = sumAll(g, sums);
      if (examples == 0) {
        throw new IllegalArgumentException("no evaluation examples in " + inputs);
      }
      Sums plain = sums.get(0);
      Sums masked = sums.get(1);
      return new Metrics(
          plain.loss / plain.weight,
          plain.correct / plain.weight,
          masked.loss / masked.weight,
          masked.correct / masked.weight,
          unigram.loss(),
          unigram.accuracy(),
          unigram.of(),
          plain.nspCorrect / examples,
          examples);
    }
  }

  /**
   * Runs every held-out batch once and adds up the plain losses into {@code sums[0]} and the masked
   * ones into {@code sums[1]}; returns the number of examples.
   */
  private static long sumAll(PretrainingGraph g, List<Sums> sums) {
    List<PretrainingHeads.Losses> losses = List.of(g.losses, g.maskedLosses.orElseThrow());
    long examples = 0;
    while (true) {
      Session.Runner runner =
          g.session.runner().fetch(g.inputs.get(0).batch().nextSentenceLabels());
      for (PretrainingHeads.Losses l : losses) {
        runner
            .fetch(l.mlmLossSum())
            .fetch(l.mlmCorrectSum())
            .fetch(l.mlmWeightSum())
            .fetch(l.nspCorrectSum());
      }
      try (Result r = runner.run()) {
        examples += ((TInt32) r.get(0)).shape().get(0);
        for (int i = 0; i < sums.size(); i++) {
          Sums s = sums.get(i);
          s.loss += ((TFloat32) r.get(1 + 4 * i)).getFloat();
          s.correct += ((TFloat32) r.get(2 + 4 * i)).getFloat();
          s.weight += ((TFloat32) r.get(3 + 4 * i)).getFloat();
          s.nspCorrect += ((TFloat32) r.get(4 + 4 * i)).getFloat();
        }
      } catch (TFOutOfRangeException endOfData) {
        return examples;
      }
    }
  }

  /**
   * The masked MLM loss of one checkpoint after another on the same first batches of some records:
   * one graph for all, each checkpoint restored into it. Surgery fits its temperatures with it.
   */
  public static final class Probe implements AutoCloseable {
    private final PretrainingGraph graph;
    private final List<Path> inputs;
    private final int batches;

    private Probe(PretrainingGraph graph, List<Path> inputs, int batches) {
      this.graph = graph;
      this.inputs = inputs;
      this.batches = batches;
    }

    /** A probe on the first {@code batches} batches of {@code inputs}, in file order. */
    public static Probe open(
        BertConfig cfg, Variant variant, List<Path> inputs, int batchSize, int batches) {
      int maskId = Math.toIntExact(counted(inputs).maskId());
      PretrainingGraph g =
          PretrainingGraph.forEval(
              cfg,
              variant,
              inputs,
              batchSize,
              InputPipeline.inspect(inputs),
              OptionalInt.of(maskId),
              OptionalDouble.empty());
      g.initialize();
      return new Probe(g, List.copyOf(inputs), batches);
    }

    /** The checkpoint's MLM loss with every scored position shown as [MASK]. */
    public double maskedLoss(Path checkpoint) {
      graph.restoreModel(checkpoint);
      graph.startInput(0, 0);
      PretrainingHeads.Losses masked = graph.maskedLosses.orElseThrow();
      double loss = 0;
      double weight = 0;
      for (int b = 0; b < batches; b++) {
        try (Result r =
            graph.session.runner().fetch(masked.mlmLossSum()).fetch(masked.mlmWeightSum()).run()) {
          loss += ((TFloat32) r.get(0)).getFloat();
          weight += ((TFloat32) r.get(1)).getFloat();
        } catch (TFOutOfRangeException endOfData) {
          break;
        }
      }
      if (weight == 0) {
        throw new IllegalArgumentException("no scored tokens to probe in " + inputs);
      }
      return loss / weight;
    }

    @Override
    public void close() {
      graph.close();
    }
  }

  /** The scored tokens of {@code files}, counted once per JVM while the files stay unchanged. */
  private static synchronized ScoredTokens counted(List<Path> files) {
    List<String> key = new ArrayList<>();
    for (Path f : files) {
      try {
        key.add(f.toAbsolutePath() + ":" + Files.size(f) + ":" + Files.getLastModifiedTime(f));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + f, e);
      }
    }
    return COUNTED.computeIfAbsent(
        key,
        k -> {
          long start = System.nanoTime();
          ScoredTokens t = ScoredTokens.count(files);
          LOG.fine(
              String.format(
                  "counted %d scored tokens in %d files in %.1f s",
                  t.labels(), files.size(), (System.nanoTime() - start) / 1e9));
          return t;
        });
  }
}
