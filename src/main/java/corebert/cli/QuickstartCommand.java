package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.core.CorePipeline;
import corebert.data.CreateDataConfig;
import corebert.data.PretrainingDataCreator;
import corebert.data.Vocab;
import corebert.data.VocabTrainer;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.TrainConfig;
import corebert.util.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert quickstart`: the whole pipeline on the bundled Brown sample, in a few minutes on two
 * cores: vocab → create-data (train and held-out) → CoRe (relaxed BERT → surgery → full BERT) →
 * held-out evaluation. Rerunning it reuses the data and resumes the training. The last stdout line
 * is a JSON summary.
 */
final class QuickstartCommand implements Command {
  private static final Logger LOG = Logger.getLogger(QuickstartCommand.class.getName());
  private static final int VOCAB_SIZE = 4000;
  static final int SEQ = 64;
  private static final int PREDICTIONS = 10;
  private static final int DEFAULT_RELAXED_STEPS = 600;
  private static final int DEFAULT_FULL_STEPS = 900;
  private static final int BATCH = 32;

  /**
   * Small BERTs on a small corpus sit on the unigram plateau for hundreds of steps; a high peak
   * with a long warm-up (40% of the steps) left it soonest in a sweep on bert-tiny (1e-4, 4e-4,
   * 1e-3 with 10% warm-up collapsed to the unigram guess). bert-tiny leaves it within a few hundred
   * steps on two cores; bert-mini needs several times longer.
   */
  private static final double LR = 1e-3;

  private static final int WARMUP = 200;

  @Override
  public String name() {
    return "quickstart";
  }

  @Override
  public String summary() {
    return "run the whole pipeline on the bundled Brown sample (a few minutes on 2 cores)";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(valued("output-dir", "DIR", "working directory (default work/quickstart)"));
    o.addOption(
        valued(
            "config", "FILE", "model config with a relaxed block (default graphs/bert-tiny.json)"));
    o.addOption(
        valued("relaxed-steps", "N1", "phase-1 steps (default " + DEFAULT_RELAXED_STEPS + ")"));
    o.addOption(valued("full-steps", "N2", "phase-2 steps (default " + DEFAULT_FULL_STEPS + ")"));
    o.addOption(flag("xla", "compile with XLA"));
    o.addOption(precisionOption("type of the model's matmuls"));
    return o;
  }

  @Override
  public int run(CommandLine line) {
    Path home = Path.of(System.getProperty("corebert.home", "."));
    Path sample = home.resolve("data/sample");
    Path trainText = sample.resolve("brown-sample-train.txt");
    Path evalText = sample.resolve("brown-sample-eval.txt");
    if (!Files.isRegularFile(trainText) || !Files.isRegularFile(evalText)) {
      throw new IllegalArgumentException(
          "bundled sample not found under " + sample + " (run from the corebert checkout)");
    }
    Path dir = Path.of(line.getOptionValue("output-dir", "work/quickstart"));
    Path configFile =
        line.hasOption("config")
            ? existingFile(line, "config")
            : home.resolve("graphs/bert-tiny.json");
    int relaxedSteps = intValue(line, "relaxed-steps", DEFAULT_RELAXED_STEPS, 1);
    int fullSteps = intValue(line, "full-steps", DEFAULT_FULL_STEPS, 1);
    long start = System.nanoTime();

    Path vocabFile = dir.resolve("vocab.txt");
    if (!Files.exists(vocabFile)) {
      LOG.info("[1/4] vocab: WordPiece, " + VOCAB_SIZE + " tokens");
      createDirectories(dir);
      VocabTrainer.train(List.of(trainText), VOCAB_SIZE, true).write(vocabFile);
    }
    Vocab vocab = Vocab.load(vocabFile);
    Path trainData = dir.resolve("data/train");
    Path evalData = dir.resolve("data/eval");
    LOG.info("[2/4] create-data: seq " + SEQ + ", " + PREDICTIONS + " predictions");
    List<Path> train = createData(trainText, vocabFile, trainData, 3, 2);
    List<Path> eval = createData(evalText, vocabFile, evalData, 1, 1);

    // The architecture of the chosen config, with the vocab this run trained.
    BertConfig cfg = BertConfig.fromJsonFile(configFile).withVocabSize(vocab.size());
    LOG.info(
        "[3/4] CoRe: " + relaxedSteps + " relaxed steps, surgery, " + fullSteps + " full steps");
    TrainConfig tc =
        TrainConfig.builder(Variant.RELAXED, train, dir.resolve("core"))
            .steps(relaxedSteps)
            .batchSize(BATCH)
            .learningRate(LR)
            .warmupSteps(WARMUP)
            .saveEvery(250)
            .logEvery(50)
            .keepCheckpoints(2)
            .xla(line.hasOption("xla"))
            .precision(precision(line))
            .build();
    Map<String, Object> core =
        CorePipeline.run(
            cfg,
            tc,
            new CorePipeline.Plan(
                relaxedSteps,
                fullSteps,
                0,
                LR,
                CoreCommand.DEFAULT_FULL_LR,
                Math.max(10, fullSteps / 20),
                true,
                eval,
                CorePipeline.Handover.PLAIN));
    LOG.info("[4/4] done: held-out metrics before surgery, right after it, and at the end");
    Map<String, Object> summary = new LinkedHashMap<>(core);
    summary.put("total_seconds", (System.nanoTime() - start) / 1e9);
    System.out.println(Json.write(summary));
    return 0;
  }

  /** Makes the TFRecords once; a rerun reuses them. */
  static List<Path> createData(Path text, Path vocab, Path out, int dupe, int shards) {
    List<Path> existing = tfrecords(out);
    if (!existing.isEmpty()) {
      return existing;
    }
    PretrainingDataCreator.run(
        CreateDataConfig.builder(List.of(text), vocab, out)
            .maxSeqLength(SEQ)
            .maxPredictionsPerSeq(PREDICTIONS)
            .dupeFactor(dupe)
            .shards(shards)
            .threads(Math.min(shards, Runtime.getRuntime().availableProcessors()))
            .build());
    return tfrecords(out);
  }

  private static List<Path> tfrecords(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".tfrecord")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
  }

  private static void createDirectories(Path dir) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
  }
}
