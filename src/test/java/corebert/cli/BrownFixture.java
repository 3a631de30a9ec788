package corebert.cli;

import corebert.data.CreateDataConfig;
import corebert.data.PretrainingDataCreator;
import corebert.data.VocabTrainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Real pretraining data for the end-to-end tests, made once per test JVM from the bundled Brown
 * sample: a WordPiece vocab, training shards and held-out shards (seq 64, 10 predictions), and a
 * bert-tiny config sized to that vocab.
 */
final class BrownFixture {
  static final int VOCAB_SIZE = 3000;
  static final int SEQ = 64;
  static final int PREDICTIONS = 10;

  final Path dir;
  final Path vocab;
  final Path trainDir;
  final Path evalDir;
  final Path config;

  private static BrownFixture instance;

  private BrownFixture(Path dir) {
    this.dir = dir;
    this.vocab = dir.resolve("vocab.txt");
    this.trainDir = dir.resolve("train");
    this.evalDir = dir.resolve("eval");
    this.config = dir.resolve("bert_tiny.json");
  }

  /** A full BERT pretrained on the sample for {@code steps} steps at lr 1e-3, in {@code dir}. */
  Path pretrain(Path dir, int steps, int warmupSteps) {
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
            String.valueOf(steps)));
    return dir;
  }

  static synchronized BrownFixture get() {
    if (instance == null) {
      try {
        Path dir = Files.createTempDirectory("corebert-brown");
        BrownFixture f = new BrownFixture(dir);
        Path sample = Path.of("data/sample");
        VocabTrainer.train(List.of(sample.resolve("brown-sample-train.txt")), VOCAB_SIZE, true)
            .write(f.vocab);
        create(sample.resolve("brown-sample-train.txt"), f.vocab, f.trainDir, 3, 2);
        create(sample.resolve("brown-sample-eval.txt"), f.vocab, f.evalDir, 1, 1);
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

  /** `pretrain` on the training shards with this fixture's config, into {@code outputDir}. */
  List<String> pretrain(String outputDir) {
    return pretrainOn(trainGlob(), outputDir);
  }

  /** `pretrain` on {@code input} with this fixture's config, into {@code outputDir}. */
  List<String> pretrainOn(String input, String outputDir) {
    return pretrainArgs(config, input, outputDir);
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

  private static void create(Path text, Path vocab, Path out, int dupe, int shards) {
    PretrainingDataCreator.run(
        CreateDataConfig.builder(List.of(text), vocab, out)
            .maxSeqLength(SEQ)
            .maxPredictionsPerSeq(PREDICTIONS)
            .dupeFactor(dupe)
            .shards(shards)
            .threads(shards)
            .build());
  }
}
