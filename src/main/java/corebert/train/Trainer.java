package corebert.train;

import corebert.data.InputPipeline;
import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.logging.Logger;
import org.tensorflow.Result;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.types.TInt64;

/**
 * The pretraining loop, in nanoGPT's order: build graph → open session → restore or initialise →
 * loop (step → log → checkpoint → stop). A run resumes by itself from the newest checkpoint in its
 * output directory, with the architecture taken from that directory's {@code bert_config.json}.
 */
public final class Trainer {
  private static final Logger LOG = Logger.getLogger(Trainer.class.getName());

  private Trainer() {}

  /** Trains until {@code tc.steps()} or the time budget, then saves and returns. */
  public static TrainingOutcome train(BertConfig cfg, TrainConfig tc) {
    long setupStart = System.nanoTime();
    InputPipeline.DataShape shape = InputPipeline.inspect(tc.inputs());
    Path dir = tc.outputDir();
    // With collective all-reduce the other tasks take everything from the chief, and write nothing.
    boolean chief = tc.parallel().isChief();
    createDirectories(dir);
    if (chief) {
      refuseOtherModel(dir, cfg, tc);
    }
    Optional<Path> resume = chief ? Checkpoints.latest(dir) : Optional.empty();
    LOG.info(
        String.format(
            "%s BERT: L%d H%d A%d I%d, vocab %d; data seq %d, %d predictions; batch %d; %s",
            tc.variant().name().toLowerCase(),
            cfg.numHiddenLayers(),
            cfg.hiddenSize(),
            cfg.numAttentionHeads(),
            cfg.intermediateSize(),
            cfg.vocabSize(),
            shape.maxSeqLength(),
            shape.maxPredictions(),
            tc.batchSize(),
            tc.timeBudgetSec() > 0
                ? "budget " + tc.timeBudgetSec() + " s"
                : "to step " + tc.steps()));

    try (PretrainingGraph g = PretrainingGraph.forTraining(cfg, tc, shape)) {
      long step;
      if (!chief) {
        g.initialize();
        step = fromChief(g);
      } else {
        step = resume.isPresent() ? restore(g, tc, resume.get()) : initialize(g, tc);
        if (tc.parallel().collective()) {
          fromChief(g);
        }
        cfg.writeTo(dir.resolve(RunDir.BERT_CONFIG));
        Checkpoints.writeAtomically(dir.resolve(RunDir.TRAIN_CONFIG), tc.toJson(cfg));
      }
      try {
        return new TrainingLoop(g, tc, step).run((System.nanoTime() - setupStart) / 1e9);
      } catch (TensorFlowException e) {
        if (tc.parallel().cluster().isEmpty()) {
          throw e;
        }
        g.abandonSession(); // closing it would wait for ever on the dead worker
        throw new IllegalStateException(
            String.format(
                "training failed on the cluster (%s): a worker died or stopped answering; last"
                    + " checkpoint: %s; restart every task with the same command to resume",
                String.join(" ", e.getMessage().lines().map(String::strip).limit(2).toList()),
                Checkpoints.latest(dir).map(Path::toString).orElse("none")),
            e);
      }
    }
  }

  /** Resumes from our own checkpoint: weights, optimizer slots, step. Returns the step. */
  private static long restore(PretrainingGraph g, TrainConfig tc, Path checkpoint) {
    g.restoreAll(checkpoint);
    g.logVariables("restored from " + checkpoint);
    tc.initCheckpoint()
        .ifPresent(
            init -> LOG.info("resuming, so the initial checkpoint " + init + " is not used again"));
    return globalStep(g);
  }

  /**
   * With collective all-reduce, on every task: takes every variable from the chief, which has
   * initialised or restored its own. Returns the step.
   */
  private static long fromChief(PretrainingGraph g) {
    g.syncFromChief();
    long step = globalStep(g);
    LOG.info("every variable broadcast from the chief; step " + step);
    return step;
  }

  private static long globalStep(PretrainingGraph g) {
    try (Result r = g.session.runner().fetch(g.training.orElseThrow().globalStep()).run()) {
      return ((TInt64) r.get(0)).getLong();
    }
  }

  /**
   * Fresh weights, or the model weights of {@code --init-checkpoint} with the step set to the
   * schedule's start (CoRe phase 2 after surgery). Returns the step.
   */
  private static long initialize(PretrainingGraph g, TrainConfig tc) {
    g.initialize();
    if (tc.initCheckpoint().isEmpty()) {
      g.logVariables("freshly initialised");
      return 0;
    }
    g.restoreModel(tc.initCheckpoint().get());
    g.logVariables("initialised from " + tc.initCheckpoint().get());
    setStep(g, tc.scheduleStart());
    return tc.scheduleStart();
  }

  private static void setStep(PretrainingGraph g, long step) {
    try (TInt64 value = TInt64.scalarOf(step)) {
      PretrainingGraph.Training t = g.training.orElseThrow();
      g.session.runner().feed(t.stepFeed(), value).addTarget(t.setStep()).run();
    }
  }

  /**
   * An output directory holding another model's checkpoints is refused, not overwritten: the
   * architecture of a resumed run comes from the directory.
   */
  private static void refuseOtherModel(Path dir, BertConfig cfg, TrainConfig tc) {
    Path saved = dir.resolve(RunDir.BERT_CONFIG);
    if (!Files.exists(saved) || Checkpoints.latest(dir).isEmpty()) {
      return;
    }
    BertConfig previous = BertConfig.fromJsonFile(saved);
    Optional<String> mismatch = previous.shapeMismatch(cfg);
    if (mismatch.isPresent()) {
      throw new IllegalArgumentException(
          dir
              + " holds checkpoints of a different model ("
              + mismatch.get()
              + "); use a new output directory");
    }
    boolean wasRelaxed = previous.relaxed().isPresent() && isRelaxedRun(dir);
    if (wasRelaxed != (tc.variant() == BertModel.Variant.RELAXED)) {
      throw new IllegalArgumentException(
          dir
              + " holds checkpoints of the "
              + (wasRelaxed ? "relaxed" : "full")
              + " model; use a new output directory");
    }
  }

  private static boolean isRelaxedRun(Path dir) {
    try {
      // Only the model is read: train_config.json of any earlier version has it.
      return Jackson.readTree(dir.resolve(RunDir.TRAIN_CONFIG))
          .path("model")
          .asText()
          .equals("relaxed");
    } catch (IOException e) {
      return false;
    }
  }

  private static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create output directory " + dir, e);
    }
  }
}
