package corebert.cli;

import corebert.data.CreateDataConfig;
import corebert.data.PretrainingDataCreator;
import corebert.data.VocabTrainer;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Real pretraining data for the end-to-end tests, made once per test JVM from the bundled Brown
 * sample: a WordPiece vocab, training shards and held-out shards (quickstart's: seq 64, 10
 * predictions), and a bert-tiny config sized to that vocab.
 */
final class BrownFixture {
  static final int VOCAB_SIZE = 3000;
  static final int SEQ = QuickstartCommand.SEQ;

  /**
   * The seed of the learning tests' training runs: 12345 (the CLI's default), or another given as
   * {@code -Dcorebert.test.seed=N} to measure each test's margin on other seeds (issue 19).
   */
  static final String SEED = System.getProperty("corebert.test.seed", "12345");

  final Path dir;
  final Path vocab;
  final Path trainDir;
  final Path evalDir;
  final Path config;

  private static BrownFixture instance;
  private final Map<String, Path> pretrained = new HashMap<>();

  private BrownFixture(Path dir) {
    this.dir = dir;
    this.vocab = dir.resolve("vocab.txt");
    this.trainDir = dir.resolve("train");
    this.evalDir = dir.resolve("eval");
    this.config = dir.resolve("bert_tiny.json");
  }

  /**
   * A full BERT pretrained on the sample for {@code steps} steps at lr 1e-3 (batch 32, logged every
   * 50 steps), made once per test JVM and shared by the tests that start from it.
   */
  synchronized Path pretrained(int steps, int warmupSteps) {
    return pretrained.computeIfAbsent(
        steps + "-" + warmupSteps,
        key -> pretrain(dir.resolve("pretrained-" + key), steps, warmupSteps));
  }

  private Path pretrain(Path dir, int steps, int warmupSteps) {
    Cli.ok(
        Cli.run(
            pretrain(dir.toString()),
            "--steps",
            String.valueOf(steps),
            "--lr",
            "1e-3",
            "--warmup-steps",
            String.valueOf(warmupSteps),
            "--log-every",
            String.valueOf(Math.min(50, steps)),
            "--seed",
            SEED));
    return dir;
  }

  static synchronized BrownFixture get() {
    if (instance == null) {
      try {
        System.err.println("learning tests' training seed " + SEED);
        Path dir = Files.createTempDirectory("corebert-brown");
        BrownFixture f = new BrownFixture(dir);
        Path sample = Path.of("data/sample");
        VocabTrainer.train(List.of(sample.resolve("brown-sample-train.txt")), VOCAB_SIZE, true)
            .write(f.vocab);
        createData(sample.resolve("brown-sample-train.txt"), f.vocab, f.trainDir, 3, 2);
        createData(sample.resolve("brown-sample-eval.txt"), f.vocab, f.evalDir, 1, 1);
        // bert-tiny (L2/H128/A2) with this vocab.
        Files.writeString(
            f.config,
            Files.readString(Path.of("graphs/bert-tiny.json"))
                .replace("\"vocab_size\": 30522", "\"vocab_size\": " + VOCAB_SIZE));
        instance = f;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return instance;
  }

  /** Quickstart's records: seq 64, 10 predictions. */
  private static void createData(Path text, Path vocab, Path out, int dupe, int shards) {
    PretrainingDataCreator.run(
        CreateDataConfig.builder(List.of(text), vocab, out)
            .maxSeqLength(SEQ)
            .maxPredictionsPerSeq(10)
            .dupeFactor(dupe)
            .shards(shards)
            .threads(shards)
            .build());
  }

  /** The sample's first documents, one .txt file each in {@code folder} and as gzipped JSONL. */
  record Documents(Path folder, Path jsonl, int count) {}

  /** Writes the Brown sample's first {@code n} documents in both layouts under {@code dir}. */
  static Documents documents(Path dir, int n) throws IOException {
    String sample = Files.readString(Path.of("data/sample/brown-sample-train.txt"));
    List<String> documents =
        Arrays.stream(sample.split("\n\\s*\n")).filter(d -> !d.isBlank()).limit(n).toList();
    Path docs = Files.createDirectories(dir.resolve("docs"));
    StringBuilder jsonl = new StringBuilder();
    for (int i = 0; i < documents.size(); i++) {
      Files.writeString(docs.resolve(String.format("doc-%03d.txt", i)), documents.get(i));
      jsonl.append(Jackson.write(Map.of("id", i, "text", documents.get(i)))).append('\n');
    }
    Path gz = dir.resolve("corpus.jsonl.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write(jsonl.toString().getBytes(StandardCharsets.UTF_8));
    }
    return new Documents(docs, gz, documents.size());
  }

  /**
   * Writes {@code dir/name} as the fixture's config with each {@code "key": old} pair replaced,
   * given as key, old value, new value triples; fails if a pair is not in the config.
   */
  Path configWith(Path dir, String name, String... keyOldNew) throws IOException {
    String json = Files.readString(config);
    for (int i = 0; i < keyOldNew.length; i += 3) {
      String from = "\"" + keyOldNew[i] + "\": " + keyOldNew[i + 1];
      if (!json.contains(from)) {
        throw new IllegalArgumentException("fixture config has no " + from);
      }
      json = json.replace(from, "\"" + keyOldNew[i] + "\": " + keyOldNew[i + 2]);
    }
    return Files.writeString(dir.resolve(name), json);
  }

  /** The fixture's config with dropout off, so that equal inputs give equal steps. */
  Path noDropout(Path dir) throws IOException {
    return configWith(
        dir,
        "no_dropout.json",
        "hidden_dropout_prob",
        "0.1",
        "0.0",
        "attention_probs_dropout_prob",
        "0.1",
        "0.0");
  }

  /**
   * The flags of runs compared step by step: {@code batch} sequences, lr 1e-3 from the first step,
   * every step logged, {@code seed}.
   */
  static List<String> everyStepLogged(int batch, int seed) {
    return List.of(
        "--batch-size",
        String.valueOf(batch),
        "--lr",
        "1e-3",
        "--warmup-steps",
        "0",
        "--log-every",
        "1",
        "--seed",
        String.valueOf(seed));
  }

  /** `COMMAND... --config CONFIG --input TRAINING_SHARDS`: a command on this fixture's data. */
  List<String> onTrainingShards(String... command) {
    return Cli.args(List.of(command), "--config", config.toString(), "--input", trainGlob());
  }

  /** `evaluate` of {@code checkpoint} on the held-out shards, plus {@code more} flags. */
  List<String> evaluate(Path checkpoint, String... more) {
    return Cli.args(
        List.of(
            "evaluate",
            "--config",
            config.toString(),
            "--checkpoint",
            checkpoint.toString(),
            "--input",
            evalGlob()),
        more);
  }

  /** `finetune --task TASK` of {@code checkpoint} on {@code dataDir}, into {@code outputDir}. */
  List<String> finetune(String task, Object dataDir, Path checkpoint, Path outputDir) {
    return List.of(
        "finetune",
        "--task",
        task,
        "--data-dir",
        dataDir.toString(),
        "--checkpoint",
        checkpoint.toString(),
        "--config",
        config.toString(),
        "--vocab",
        vocab.toString(),
        "--output-dir",
        outputDir.toString());
  }

  /** `pretrain` on the training shards with this fixture's config, into {@code outputDir}. */
  List<String> pretrain(String outputDir) {
    return pretrainOn(trainGlob(), outputDir);
  }

  /** `pretrain` on {@code input} with this fixture's config, into {@code outputDir}. */
  List<String> pretrainOn(String input, String outputDir) {
    return pretrainArgs(config, input, outputDir);
  }

  /** `pretrain --model relaxed` on the training shards, into {@code outputDir}. */
  List<String> pretrainRelaxed(Path outputDir) {
    return Cli.args(
        onTrainingShards("pretrain", "--model", "relaxed"), "--output-dir", outputDir.toString());
  }

  /** `pretrain` of {@code config} on {@code input}, into {@code outputDir}. */
  static List<String> pretrainArgs(Path config, String input, String outputDir) {
    return List.of(
        "pretrain", "--config", config.toString(), "--input", input, "--output-dir", outputDir);
  }

  String trainGlob() {
    return trainDir + "/*.tfrecord";
  }

  String evalGlob() {
    return evalDir + "/*.tfrecord";
  }
}
