package corebert.run;

import com.fasterxml.jackson.databind.JsonNode;
import corebert.core.CorePipeline;
import corebert.data.CorpusFormat;
import corebert.data.CreateDataConfig;
import corebert.data.HeldOutSplit;
import corebert.data.PretrainingDataCreator;
import corebert.data.Vocab;
import corebert.data.VocabTrainer;
import corebert.export.AtomicDir;
import corebert.export.HuggingFaceExport;
import corebert.export.HuggingFaceImport;
import corebert.export.SavedModelExport;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.Checkpoints;
import corebert.train.Evaluator;
import corebert.train.HeldOutCurve;
import corebert.train.HeldOutCurve.Point;
import corebert.train.RunDir;
import corebert.train.TrainConfig;
import corebert.train.Trainer;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Raw text to a finished BERT in one output directory, stage by stage: held-out split, vocab,
 * pretraining records, CoRe (or continued pretraining of a given model), the held-out curve,
 * SavedModel and Hugging Face exports, and a report. Each stage's output is written atomically and
 * marks the stage done, so a rerun starts at the first unfinished stage; training itself resumes
 * from its newest checkpoint. {@code run.json} holds the settings the directory was made with, and
 * a rerun with other settings or a changed corpus is refused instead of mixing the two.
 */
public final class CorpusRun {
  private static final Logger LOG = Logger.getLogger(CorpusRun.class.getName());

  static final String SETTINGS = "run.json";
  static final String TRAIN_TEXT = "text/train.txt";
  static final String HELDOUT_TEXT = "text/heldout.txt";
  static final String VOCAB = "vocab.txt";
  static final String TRAIN_DATA = "data/train";
  static final String HELDOUT_DATA = "data/heldout";

  /** The training run's directory: CoRe's (relaxed/, full/, metrics.jsonl) or a plain one. */
  public static final String TRAINING = "training";

  static final String TRAINING_SUMMARY = "training.json";
  static final String CURVE = "curve.json";
  public static final String SAVED_MODEL = "export/saved_model";
  public static final String HUGGING_FACE = "export/huggingface";
  public static final String REPORT = "report.json";
  public static final String REPORT_PNG = "report.png";

  /** Checkpoints kept per run for the held-out curve (pruned to the last ones after the report). */
  static final int CURVE_POINTS = 16;

  /** The stages, in order, as {@code run --help} lists them. */
  public static final List<String> STAGES =
      List.of(
          "split: hold out whole documents (seeded), written as google-research text",
          "vocab: train a WordPiece vocab on the training side (or copy the given one)",
          "data: pretraining TFRecords, training side (dupe factor) and held-out side (once)",
          "config: the model config with the vocab's size written in",
          "train: CoRe (relaxed BERT, surgery, full BERT), or continued pretraining of a given"
              + " model; resumes from its newest checkpoint",
          "curve: held-out MLM loss of every kept checkpoint, plain and with scored tokens masked",
          "export: SavedModel and Hugging Face folders of the final model",
          "report: report.json and report.png (held-out loss against time, the switch marked)");

  /** curve.json: the held-out curve of every kept checkpoint, and the unigram model's level. */
  record Curve(double unigramLoss, double unigramAccuracy, String unigramOf, List<Point> points) {}

  private record Stage(String name, Path output, Runnable work) {}

  private final RunSettings s;
  private final Path dir;
  private final boolean core;
  private final long start = System.nanoTime();

  private CorpusRun(RunSettings s, Path dir) {
    this.s = s;
    this.dir = dir;
    this.core = s.initCheckpoint().isEmpty();
  }

  /**
   * Runs every unfinished stage in {@code dir}.
   *
   * @throws IllegalArgumentException when {@code dir} holds a run made with other settings or
   *     another corpus, or for bad input (naming the file and line)
   */
  public static RunReport.Report run(RunSettings s, Path dir) {
    CorpusRun r = new CorpusRun(s, dir);
    r.claim();
    List<Stage> stages = r.stages();
    for (int i = 0; i < stages.size(); i++) {
      Stage st = stages.get(i);
      String tag = String.format(Locale.ROOT, "run [%d/%d %s]", i + 1, stages.size(), st.name());
      if (Files.exists(st.output())) {
        LOG.info(tag + " done before: " + st.output());
        continue;
      }
      long t0 = System.nanoTime();
      LOG.info(tag + " starts, " + r.elapsed() + " into the run");
      st.work().run();
      LOG.info(
          String.format(
              Locale.ROOT,
              "%s done in %.1f s, %s into the run",
              tag,
              (System.nanoTime() - t0) / 1e9,
              r.elapsed()));
    }
    // The report is written last; the curve's checkpoints are no longer needed once it is.
    r.pruneCheckpoints();
    return Jackson.read(read(dir.resolve(REPORT)), RunReport.Report.class)
        .summary(dir.resolve(REPORT));
  }

  private List<Stage> stages() {
    List<Stage> out = new ArrayList<>();
    if (s.corpus().heldOutFiles().isEmpty()) {
      out.add(new Stage("split", dir.resolve(TRAIN_TEXT), this::split));
    }
    out.add(new Stage("vocab", dir.resolve(VOCAB), this::vocab));
    out.add(new Stage("data train", dir.resolve(TRAIN_DATA), () -> data(true)));
    out.add(new Stage("data held-out", dir.resolve(HELDOUT_DATA), () -> data(false)));
    out.add(new Stage("config", dir.resolve(RunDir.BERT_CONFIG), this::config));
    out.add(new Stage("train", dir.resolve(TRAINING_SUMMARY), this::train));
    out.add(new Stage("curve", dir.resolve(CURVE), this::curve));
    out.add(new Stage("export SavedModel", dir.resolve(SAVED_MODEL), () -> export(false)));
    out.add(new Stage("export Hugging Face", dir.resolve(HUGGING_FACE), () -> export(true)));
    out.add(new Stage("report", dir.resolve(REPORT), () -> RunReport.write(dir, s, core)));
    return out;
  }

  /** Writes run.json in a new directory; refuses one made with other settings or another corpus. */
  private void claim() {
    Path file = dir.resolve(SETTINGS);
    if (Files.exists(file)) {
      // Key by key as JSON trees, so that the error names each changed setting; a key the run
      // was made without compares as missing.
      JsonNode want = Jackson.parseTree(Jackson.write(s.fingerprint()));
      JsonNode have = Jackson.parseTree(read(file));
      List<String> changed = new ArrayList<>();
      for (Map.Entry<String, JsonNode> e : want.properties()) {
        JsonNode was = have.path(e.getKey());
        if (!e.getValue().equals(was)) {
          changed.add(
              e.getKey()
                  + " was "
                  + (was.isMissingNode() ? "unset" : was)
                  + ", now "
                  + e.getValue());
        }
      }
      if (!changed.isEmpty()) {
        throw new IllegalArgumentException(
            dir
                + " holds a run made with other settings or another corpus; rerun it as it was"
                + " to continue it, or choose a new output directory. Changed: "
                + String.join("; ", changed));
      }
      LOG.info("continuing the run in " + dir);
      return;
    }
    try (Stream<Path> entries = Files.isDirectory(dir) ? Files.list(dir) : Stream.empty()) {
      // A hidden temporary file is what a run killed while claiming the directory leaves.
      if (entries.anyMatch(e -> !e.getFileName().toString().startsWith("."))) {
        throw new IllegalArgumentException(
            dir + " is not empty and holds no " + SETTINGS + ": a run starts in a new directory");
      }
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
    }
    Checkpoints.writeAtomically(file, Jackson.writePretty(s.fingerprint()));
  }

  private void split() {
    RunSettings.Corpus c = s.corpus();
    HeldOutSplit.write(
        c.files(),
        c.format(),
        c.textField(),
        c.heldOut(),
        c.seed(),
        dir.resolve(TRAIN_TEXT),
        dir.resolve(HELDOUT_TEXT));
  }

  /** The corpus's training side, and the format it is read in. */
  private List<Path> trainText() {
    return s.corpus().heldOutFiles().isEmpty()
        ? List.of(dir.resolve(TRAIN_TEXT))
        : s.corpus().files();
  }

  private List<Path> heldOutText() {
    return s.corpus().heldOutFiles().isEmpty()
        ? List.of(dir.resolve(HELDOUT_TEXT))
        : s.corpus().heldOutFiles();
  }

  private CorpusFormat format() {
    return s.corpus().heldOutFiles().isEmpty() ? CorpusFormat.TEXT : s.corpus().format();
  }

  private void vocab() {
    Path target = dir.resolve(VOCAB);
    Path tmp = target.resolveSibling("." + VOCAB + ".tmp");
    if (s.data().vocab().isPresent()) {
      copy(s.data().vocab().get(), tmp);
    } else if (!core) {
      copy(initDir().resolve(VOCAB), tmp);
    } else {
      VocabTrainer.train(trainText(), format(), s.corpus().textField(), s.data().vocabSize(), true)
          .write(tmp);
    }
    move(tmp, target);
  }

  /**
   * The folder of the model a continued pretraining starts from: its vocab and config live there.
   */
  private Path initDir() {
    Path given = s.initCheckpoint().orElseThrow();
    Path checkpoint = HuggingFaceImport.checkpointOf(given, initImport());
    Path folder = checkpoint.toAbsolutePath().getParent();
    if (!Files.exists(folder.resolve(VOCAB))) {
      throw new IllegalArgumentException(
          "no " + VOCAB + " next to the initial checkpoint " + checkpoint + "; give a vocab");
    }
    return folder;
  }

  private Path initImport() {
    return dir.resolve(HuggingFaceImport.IMPORT_DIR);
  }

  private void data(boolean train) {
    Path target = dir.resolve(train ? TRAIN_DATA : HELDOUT_DATA);
    RunSettings.Data d = s.data();
    AtomicDir.write(
        target,
        tmp -> {
          // A fixed shard count: the records must not depend on the threads that write them.
          int shards = train ? CreateDataConfig.DEFAULT_SHARDS : 1;
          PretrainingDataCreator.run(
              CreateDataConfig.builder(train ? trainText() : heldOutText(), dir.resolve(VOCAB), tmp)
                  .format(format(), s.corpus().textField())
                  .maxSeqLength(d.seqLength())
                  .maxPredictionsPerSeq(d.maxPredictions())
                  // Held-out text is masked once: duplicates would only weight it.
                  .dupeFactor(train ? d.dupeFactor() : 1)
                  .shards(shards)
                  .threads(Math.min(shards, s.runtime().threads()))
                  .seed(s.corpus().seed())
                  .build());
        });
  }

  /**
   * The architecture with the vocab's size; a continued pretraining keeps its model's size (which
   * may pad the vocab) and refuses a vocab that does not fit it.
   */
  private void config() {
    int vocabSize = Vocab.load(dir.resolve(VOCAB)).size();
    if (!core && vocabSize > s.model().vocabSize()) {
      throw new IllegalArgumentException(
          "the vocab has "
              + vocabSize
              + " tokens, more than the initial model's "
              + s.model().vocabSize());
    }
    BertConfig cfg = core ? s.model().withVocabSize(vocabSize) : s.model();
    Path target = dir.resolve(RunDir.BERT_CONFIG);
    Checkpoints.writeAtomically(target, cfg.toJson());
  }

  private BertConfig model() {
    return BertConfig.fromJsonFile(dir.resolve(RunDir.BERT_CONFIG));
  }

  private List<Path> records(String sub) {
    try (Stream<Path> files = Files.list(dir.resolve(sub))) {
      return files.filter(p -> p.toString().endsWith(".tfrecord")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir.resolve(sub), e);
    }
  }

  private void train() {
    RunSettings.Training t = s.training();
    boolean budget = t.timeBudgetSec() > 0;
    TrainConfig.Builder b =
        TrainConfig.builder(
                core ? Variant.RELAXED : Variant.FULL, records(TRAIN_DATA), dir.resolve(TRAINING))
            .timeBudgetSec(t.timeBudgetSec())
            .batchSize(t.batchSize())
            .warmupSteps(t.warmupSteps())
            // Checkpoints are the curve's points: about CURVE_POINTS of them, all kept until the
            // report is written.
            .saveEvery(budget ? Integer.MAX_VALUE : (int) Math.max(1, t.steps() / CURVE_POINTS))
            .saveEverySec(budget ? t.timeBudgetSec() / CURVE_POINTS : 0)
            .keepCheckpoints(Integer.MAX_VALUE)
            .seed(t.seed())
            .xla(s.runtime().xla())
            .precision(s.runtime().precision());
    LOG.info(plan(t));
    // training.json: CoRe's summary, or continued pretraining's outcome.
    Object summary;
    if (core) {
      long n1 = budget ? 0 : t.relaxedSteps();
      summary =
          CorePipeline.run(
              model(),
              b.steps(n1).learningRate(t.relaxedLearningRate()).build(),
              CorePipeline.Plan.builder()
                  .steps(n1, budget ? 0 : t.steps() - n1)
                  .relaxedFraction(t.relaxedFraction())
                  .relaxedLearningRate(t.relaxedLearningRate())
                  .fullLearningRate(t.fullLearningRate())
                  .fullWarmupSteps(t.fullWarmupSteps())
                  .build());
    } else {
      Path init = HuggingFaceImport.checkpointOf(s.initCheckpoint().get(), initImport());
      summary =
          Trainer.train(
              model(),
              b.steps(t.steps())
                  .learningRate(t.fullLearningRate())
                  .initCheckpoint(Optional.of(init))
                  .build());
    }
    Checkpoints.writeAtomically(dir.resolve(TRAINING_SUMMARY), Jackson.writePretty(summary));
  }

  /** What training is about to do, and for a time budget when it ends. */
  private String plan(RunSettings.Training t) {
    if (t.timeBudgetSec() > 0) {
      return String.format(
          Locale.ROOT,
          "training for %.0f s, until about %s; then the curve, exports and report",
          t.timeBudgetSec(),
          LocalTime.now().plusSeconds((long) t.timeBudgetSec()).truncatedTo(ChronoUnit.MINUTES));
    }
    return core
        ? String.format(
            Locale.ROOT,
            "training %d steps: %d relaxed, surgery, %d full",
            t.steps(),
            t.relaxedSteps(),
            t.steps() - t.relaxedSteps())
        : "training " + t.steps() + " steps from " + s.initCheckpoint().get();
  }

  /** Every kept checkpoint of both phases, evaluated on the held-out records. */
  private void curve() {
    BertConfig cfg = model();
    Evaluator.HeldOut heldOut = Evaluator.HeldOut.of(records(HELDOUT_DATA), records(TRAIN_DATA));
    Path training = dir.resolve(TRAINING);
    int batch = s.training().batchSize();
    List<Point> points = new ArrayList<>();
    LOG.info(
        "evaluating every kept checkpoint on " + heldOut.inputs().size() + " held-out file(s)");
    if (core) {
      points.addAll(
          HeldOutCurve.evaluate(
              cfg,
              Variant.RELAXED,
              training.resolve(RunDir.CORE_RELAXED),
              training,
              "relaxed",
              0,
              heldOut,
              batch));
      points.addAll(
          HeldOutCurve.evaluate(
              cfg,
              Variant.FULL,
              training.resolve(RunDir.CORE_FULL),
              training,
              "full",
              0,
              heldOut,
              batch));
    } else {
      points.addAll(
          HeldOutCurve.evaluate(cfg, Variant.FULL, training, training, "full", 0, heldOut, batch));
    }
    Evaluator.Unigram unigram = Evaluator.unigram(heldOut, cfg.vocabSize());
    Curve curve = new Curve(unigram.loss(), unigram.accuracy(), unigram.of(), points);
    Checkpoints.writeAtomically(dir.resolve(CURVE), Jackson.writePretty(curve));
  }

  private void export(boolean huggingFace) {
    BertConfig cfg = model();
    Path checkpoint = Checkpoints.resolve(dir.resolve(TRAINING).toString());
    Path vocab = dir.resolve(VOCAB);
    if (huggingFace) {
      HuggingFaceExport.exportPretraining(cfg, checkpoint, vocab, true, dir.resolve(HUGGING_FACE));
    } else {
      SavedModelExport.export(cfg, checkpoint, vocab, dir.resolve(SAVED_MODEL));
    }
  }

  /** Keeps each phase's newest checkpoint: the others were only the curve's points. */
  private void pruneCheckpoints() {
    Path training = dir.resolve(TRAINING);
    List<Path> dirs =
        core
            ? List.of(training.resolve(RunDir.CORE_RELAXED), training.resolve(RunDir.CORE_FULL))
            : List.of(training);
    dirs.forEach(d -> Checkpoints.keepNewest(d, 1));
  }

  private String elapsed() {
    long sec = (System.nanoTime() - start) / 1_000_000_000L;
    return String.format(Locale.ROOT, "%dm%02ds", sec / 60, sec % 60);
  }

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static void copy(Path from, Path to) {
    try {
      Files.createDirectories(to.toAbsolutePath().getParent());
      Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot copy " + from + ": " + e.getMessage(), e);
    }
  }

  private static void move(Path from, Path to) {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + to + ": " + e.getMessage(), e);
    }
  }
}
