package corebert.run;

import corebert.data.CorpusFormat;
import corebert.model.BertConfig;
import corebert.model.Precision;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Everything a {@link CorpusRun} is made of. {@link #fingerprint} is what a rerun must match to
 * continue a run: the settings that change results, and each corpus file's size and time.
 *
 * @param corpus the raw text and how held-out documents are chosen
 * @param data the vocab and the pretraining records
 * @param training the run's length and CoRe's schedule
 * @param model the architecture (its vocab size is replaced by the vocab's); its relaxed block is
 *     phase 1's model
 * @param initCheckpoint continue pretraining this checkpoint (full BERT, no CoRe) instead
 * @param runtime how the work runs: threads, XLA and matmul precision
 */
public record RunSettings(
    Corpus corpus,
    Data data,
    Training training,
    BertConfig model,
    Optional<Path> initCheckpoint,
    Runtime runtime) {

  /**
   * @param files the corpus
   * @param heldOutFiles held-out documents given separately; empty: split off {@code heldOut} of
   *     the corpus's documents
   * @param heldOut share of documents held out when the split is made here
   */
  public record Corpus(
      List<Path> files,
      List<Path> heldOutFiles,
      CorpusFormat format,
      String textField,
      double heldOut,
      long seed) {
    public Corpus {
      files = List.copyOf(files);
      heldOutFiles = List.copyOf(heldOutFiles);
      if (files.isEmpty()) {
        throw new IllegalArgumentException("no corpus files");
      }
      if (heldOutFiles.isEmpty() && !(heldOut > 0 && heldOut < 1)) {
        throw new IllegalArgumentException("held-out share must be in (0, 1), got " + heldOut);
      }
    }
  }

  /**
   * @param vocab an existing vocab to use instead of training one of {@code vocabSize} tokens
   * @param dupeFactor how often the training text is masked anew (held-out text once)
   */
  public record Data(
      int vocabSize, Optional<Path> vocab, int seqLength, int maxPredictions, int dupeFactor) {}

  /**
   * @param steps total steps of both phases (0 with a time budget)
   * @param timeBudgetSec total training seconds of both phases (0 in steps mode)
   * @param relaxedFraction phase 1's share of the steps or of the budget
   */
  public record Training(
      long steps,
      double timeBudgetSec,
      double relaxedFraction,
      int batchSize,
      long warmupSteps,
      double relaxedLearningRate,
      double fullLearningRate,
      long fullWarmupSteps,
      long seed) {
    public Training {
      if ((steps > 0) == (timeBudgetSec > 0)) {
        throw new IllegalArgumentException("a run needs a step count or a time budget, not both");
      }
      if (!(relaxedFraction > 0 && relaxedFraction < 1)) {
        throw new IllegalArgumentException(
            "relaxed fraction must be in (0, 1), got " + relaxedFraction);
      }
    }

    /** Phase 1's steps in steps mode: at least one step for each phase. */
    long relaxedSteps() {
      return Math.max(1, Math.min(steps - 1, Math.round(steps * relaxedFraction)));
    }
  }

  /**
   * How the work runs, free to change between reruns (a run may continue on another machine): the
   * matmul precision and XLA change results in the last bits, the threads do not.
   */
  public record Runtime(int threads, boolean xla, Precision precision) {}

  /**
   * The settings that make two runs the same run (run.json); not the runtime. Files are "path (size
   * bytes, modified time)", so an edited corpus is not the same corpus.
   */
  record Fingerprint(
      List<String> corpus,
      List<String> heldoutCorpus,
      String inputFormat,
      String textField,
      double heldout,
      long splitSeed,
      int vocabSize,
      List<String> vocab,
      int maxSeqLength,
      int maxPredictionsPerSeq,
      int dupeFactor,
      long steps,
      double timeBudgetSec,
      double relaxedFraction,
      int batchSize,
      long warmupSteps,
      double relaxedLearningRate,
      double fullLearningRate,
      long fullWarmupSteps,
      long seed,
      String model,
      String initCheckpoint) {}

  Fingerprint fingerprint() {
    return new Fingerprint(
        files(corpus.files()),
        files(corpus.heldOutFiles()),
        corpus.format().flagValue(),
        corpus.textField(),
        corpus.heldOutFiles().isEmpty() ? corpus.heldOut() : 0.0,
        corpus.seed(),
        data.vocab().isPresent() ? 0 : data.vocabSize(),
        data.vocab().map(p -> files(List.of(p))).orElse(List.of()),
        data.seqLength(),
        data.maxPredictions(),
        data.dupeFactor(),
        training.steps(),
        training.timeBudgetSec(),
        training.relaxedFraction(),
        training.batchSize(),
        training.warmupSteps(),
        training.relaxedLearningRate(),
        training.fullLearningRate(),
        training.fullWarmupSteps(),
        training.seed(),
        model.toJson().replaceAll("\\s+", " "),
        initCheckpoint.map(p -> p.toAbsolutePath().normalize().toString()).orElse(""));
  }

  /** Each file as "path (size bytes, modified time)": an edited corpus is not the same corpus. */
  private static List<String> files(List<Path> files) {
    List<String> out = new ArrayList<>();
    for (Path f : files) {
      try {
        out.add(
            f.toAbsolutePath().normalize()
                + " ("
                + Files.size(f)
                + " bytes, modified "
                + Files.getLastModifiedTime(f)
                + ")");
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
      }
    }
    return out;
  }
}
