package corebert.data;

import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;
import java.util.logging.Logger;

/**
 * A streaming port of google-research/bert's {@code create_pretraining_data.py}: text in, sharded
 * TFRecords in BERT's schema out. Instances are made exactly as BERT makes them (segment packing,
 * 50% random next sentence, {@code truncate_seq_pair}, 80/10/10 masking, optional whole-word
 * masking), with three changes that keep memory flat however large the corpus is:
 *
 * <ul>
 *   <li>documents are streamed; the random next sentence comes from the last {@link
 *       #RANDOM_DOCUMENT_WINDOW} documents of the same shard rather than from the whole corpus;
 *   <li>the dupe factor repeats each document as it passes instead of re-reading the corpus;
 *   <li>instances are shuffled in a buffer of {@link #SHUFFLE_BUFFER} per shard, not globally.
 * </ul>
 *
 * <p>Document i goes to shard i % shards, and each shard has its own random stream seeded from
 * (seed, shard), so the output is byte-identical for any number of threads. Each worker thread
 * reads the whole text but tokenizes only the documents of its shards. Shards are written to hidden
 * temporary files and renamed only when every shard is complete.
 */
public final class PretrainingDataCreator {
  private static final Logger LOG = Logger.getLogger(PretrainingDataCreator.class.getName());

  /** Candidates for the random next sentence: enough variety, bounded memory per shard. */
  public static final int RANDOM_DOCUMENT_WINDOW = 1_000;

  /** Serialized instances held per shard for shuffling (about 1 KB each at seq 128). */
  public static final int SHUFFLE_BUFFER = 10_000;

  private static final long PROGRESS_SECONDS = 5;

  /** What a run produced. */
  public record Summary(
      long documents, long instances, long tokens, double seconds, List<Path> files) {

    public Summary {
      files = List.copyOf(files);
    }

    /** One JSON object, the last stdout line of {@code corebert create-data}. */
    public String toJson() {
      return Jackson.write(this);
    }
  }

  private PretrainingDataCreator() {}

  /**
   * Creates {@code config.shards()} files {@code part-NNNNN-of-NNNNN.tfrecord} in the output
   * directory.
   *
   * @throws IllegalArgumentException for a missing input or vocab, an output directory that already
   *     holds TFRecords, invalid UTF-8 (naming file and line), or an empty corpus
   */
  public static Summary run(CreateDataConfig config) {
    Vocab vocab = checkInputsAndLoadVocab(config);
    prepareOutputDir(config.outputDir());
    logSettings(config, vocab);

    int shards = config.shards();
    int workers = Math.min(config.threads(), shards);
    List<Path> temps = new ArrayList<>();
    List<Path> finals = new ArrayList<>();
    for (int s = 0; s < shards; s++) {
      String name = shardName(s, shards);
      finals.add(config.outputDir().resolve(name));
      temps.add(config.outputDir().resolve("." + name + ".tmp"));
    }
    Progress progress = new Progress();
    AtomicBoolean failed = new AtomicBoolean();
    long start = System.nanoTime();
    ExecutorService pool = Executors.newFixedThreadPool(workers, daemon("create-data-worker"));
    ScheduledExecutorService reporter =
        Executors.newSingleThreadScheduledExecutor(daemon("create-data-progress"));
    reporter.scheduleAtFixedRate(
        () -> progress.log(start), PROGRESS_SECONDS, PROGRESS_SECONDS, TimeUnit.SECONDS);
    try {
      runAll(
          pool,
          workers,
          w -> new Worker(config, vocab, w, workers, temps, progress, failed)::run,
          failed);
      if (progress.documents.sum() == 0) {
        throw new IllegalArgumentException("corpus is empty: " + config.inputs());
      }
      publish(temps, finals);
    } finally {
      pool.shutdownNow();
      reporter.shutdownNow();
      deleteQuietly(temps);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    progress.log(start);
    return new Summary(
        progress.documents.sum(), progress.instances.sum(), progress.tokens.sum(), seconds, finals);
  }

  private static Vocab checkInputsAndLoadVocab(CreateDataConfig config) {
    for (Path input : config.inputs()) {
      if (!Files.isRegularFile(input)) {
        throw new IllegalArgumentException("input file not found: " + input);
      }
    }
    if (!Files.isRegularFile(config.vocab())) {
      throw new IllegalArgumentException("vocab file not found: " + config.vocab());
    }
    return Vocab.load(config.vocab());
  }

  private static void logSettings(CreateDataConfig config, Vocab vocab) {
    LOG.info(
        () ->
            String.format(
                Locale.ROOT,
                "create-data: %d input files, vocab %d tokens, max_seq_length %d, "
                    + "max_predictions_per_seq %d, masked_lm_prob %s, dupe_factor %d, "
                    + "short_seq_prob %s, %d shards, %d threads, seed %d, whole_word_mask %s, "
                    + "lower_case %s",
                config.inputs().size(),
                vocab.size(),
                config.maxSeqLength(),
                config.maxPredictionsPerSeq(),
                config.maskedLmProb(),
                config.dupeFactor(),
                config.shortSeqProb(),
                config.shards(),
                config.threads(),
                config.seed(),
                config.wholeWordMask(),
                config.lowerCase()));
  }

  /**
   * Runs {@code workers} workers on the pool and waits for all of them; a failing worker sets
   * {@code failed} so that the others stop, and its error (not a stopped worker's) is rethrown.
   */
  private static void runAll(
      ExecutorService pool, int workers, IntFunction<Runnable> worker, AtomicBoolean failed) {
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < workers; t++) {
      Runnable w = worker.apply(t);
      futures.add(
          pool.submit(
              () -> {
                try {
                  w.run();
                } catch (RuntimeException | Error e) {
                  failed.set(true);
                  throw e;
                }
              }));
    }
    RuntimeException first = null;
    for (Future<?> f : futures) {
      try {
        f.get();
      } catch (ExecutionException e) {
        if (first == null || first instanceof StoppedException) {
          first = asRuntime(e.getCause());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failed.set(true);
        first = first != null ? first : new IllegalStateException("interrupted", e);
      }
    }
    if (first != null) {
      throw first;
    }
  }

  /** Renames each finished temporary shard to its final name. */
  private static void publish(List<Path> temps, List<Path> finals) {
    for (int s = 0; s < temps.size(); s++) {
      try {
        Files.move(
            temps.get(s),
            finals.get(s),
            StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot rename " + temps.get(s), e);
      }
    }
  }

  /** {@code part-00003-of-00004.tfrecord}, the name of shard 3 of 4. */
  public static String shardName(int shard, int shards) {
    return String.format(Locale.ROOT, "part-%05d-of-%05d.tfrecord", shard, shards);
  }

  /** Creates the directory; refuses one that already has TFRecords, which would mix two runs. */
  private static void prepareOutputDir(Path dir) {
    try {
      Files.createDirectories(dir);
      try (DirectoryStream<Path> existing = Files.newDirectoryStream(dir, "*.tfrecord")) {
        for (Path p : existing) {
          throw new IllegalArgumentException(
              "output directory already holds TFRecords (" + p + "); choose an empty one");
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create output directory " + dir, e);
    }
  }

  /** One worker thread: reads the whole text and builds the shards {s : s % workers == t}. */
  private static final class Worker implements CorpusReader.DocumentSink {
    private final CreateDataConfig config;
    private final FullTokenizer tokenizer;
    private final int worker;
    private final int workers;
    private final Progress progress;
    private final AtomicBoolean failed;
    private final PretrainingShard[] shards;

    Worker(
        CreateDataConfig config,
        Vocab vocab,
        int worker,
        int workers,
        List<Path> temps,
        Progress progress,
        AtomicBoolean failed) {
      this.config = config;
      this.tokenizer = new FullTokenizer(vocab, config.lowerCase());
      this.worker = worker;
      this.workers = workers;
      this.progress = progress;
      this.failed = failed;
      this.shards = new PretrainingShard[config.shards()];
      PretrainingShard.Masking masking = new PretrainingShard.Masking(vocab, config);
      for (int s = worker; s < config.shards(); s += workers) {
        shards[s] = new PretrainingShard(s, config, masking, temps.get(s));
      }
    }

    void run() {
      try {
        new CorpusReader(config.inputs(), config.format(), config.textField()).read(this);
        for (PretrainingShard shard : shards) {
          if (shard != null) {
            shard.finish();
          }
        }
      } finally {
        for (PretrainingShard shard : shards) {
          if (shard != null) {
            shard.close();
          }
        }
      }
    }

    @Override
    public boolean wants(long documentIndex) {
      if (failed.get()) {
        throw new StoppedException();
      }
      return (int) (documentIndex % config.shards()) % workers == worker;
    }

    @Override
    public void accept(long documentIndex, List<String> lines) {
      List<int[]> sentences = new ArrayList<>(lines.size());
      long tokens = 0;
      for (String line : lines) {
        List<String> pieces = tokenizer.tokenize(line);
        if (!pieces.isEmpty()) {
          sentences.add(tokenizer.toIds(pieces));
          tokens += pieces.size();
        }
      }
      if (sentences.isEmpty()) {
        return;
      }
      int instances =
          shards[(int) (documentIndex % config.shards())].add(sentences.toArray(new int[0][]));
      progress.documents.increment();
      progress.tokens.add(tokens);
      progress.instances.add(instances);
    }
  }

  /** Counters shared by the workers, read by the progress reporter. */
  private static final class Progress {
    final LongAdder documents = new LongAdder();
    final LongAdder instances = new LongAdder();
    final LongAdder tokens = new LongAdder();

    void log(long startNanos) {
      double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
      long t = tokens.sum();
      LOG.info(
          String.format(
              Locale.ROOT,
              "create-data: %d documents, %d instances, %d tokens, %.0f tokens/s",
              documents.sum(),
              instances.sum(),
              t,
              t / seconds));
    }
  }

  /** Thrown in a worker to stop it early after another worker failed. */
  private static final class StoppedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    StoppedException() {
      super("stopped because another worker failed");
    }
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread thread = new Thread(r, name);
      thread.setDaemon(true);
      return thread;
    };
  }

  private static RuntimeException asRuntime(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(t);
  }

  private static void deleteQuietly(List<Path> paths) {
    for (Path p : paths) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException e) {
        LOG.warning("cannot delete temporary file " + p + ": " + e.getMessage());
      }
    }
  }
}
