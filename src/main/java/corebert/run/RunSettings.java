package corebert.run;

import corebert.data.CorpusFormat;
import corebert.model.BertConfig;
import corebert.model.Precision;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

  /** The settings that make two runs the same run, as ordered name → value; not the runtime. */
  Map<String, Object> fingerprint() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("corpus", files(corpus.files()));
    m.put("heldout_corpus", files(corpus.heldOutFiles()));
    m.put("input_format", corpus.format().flagValue());
    m.put("text_field", corpus.textField());
    m.put("heldout", corpus.heldOutFiles().isEmpty() ? corpus.heldOut() : 0.0);
    m.put("split_seed", corpus.seed());
    m.put("vocab_size", data.vocab().isPresent() ? 0 : data.vocabSize());
    m.put("vocab", data.vocab().map(p -> files(List.of(p))).orElse(List.of()));
    m.put("max_seq_length", data.seqLength());
    m.put("max_predictions_per_seq", data.maxPredictions());
    m.put("dupe_factor", data.dupeFactor());
    m.put("steps", training.steps());
    m.put("time_budget_sec", training.timeBudgetSec());
    m.put("relaxed_fraction", training.relaxedFraction());
    m.put("batch_size", training.batchSize());
    m.put("warmup_steps", training.warmupSteps());
    m.put("relaxed_learning_rate", training.relaxedLearningRate());
    m.put("full_learning_rate", training.fullLearningRate());
    m.put("full_warmup_steps", training.fullWarmupSteps());
    m.put("seed", training.seed());
    m.put("model", model.toJson().replaceAll("\\s+", " "));
    m.put(
        "init_checkpoint",
        initCheckpoint.map(p -> p.toAbsolutePath().normalize().toString()).orElse(""));
    return m;
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
