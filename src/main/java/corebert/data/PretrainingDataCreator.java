package corebert.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
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
      StringBuilder sb = new StringBuilder();
      sb.append("{\"documents\":").append(documents);
      sb.append(",\"instances\":").append(instances);
      sb.append(",\"tokens\":").append(tokens);
      sb.append(",\"seconds\":").append(String.format(Locale.ROOT, "%.3f", seconds));
      sb.append(",\"files\":[");
      for (int i = 0; i < files.size(); i++) {
        sb.append(i == 0 ? "" : ",").append(jsonString(files.get(i).toString()));
      }
      return sb.append("]}").toString();
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
    private final Shard[] shards;

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
      this.shards = new Shard[config.shards()];
      MaskingContext masking = new MaskingContext(vocab, config);
      for (int s = worker; s < config.shards(); s += workers) {
        shards[s] = new Shard(s, config, masking, temps.get(s));
      }
    }

    void run() {
      try {
        new CorpusReader(config.inputs(), config.format(), config.textField()).read(this);
        for (Shard shard : shards) {
          if (shard != null) {
            shard.finish();
          }
        }
      } finally {
        for (Shard shard : shards) {
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

  /** Read-only facts about the vocab that masking needs, shared by a worker's shards. */
  private static final class MaskingContext {
    final int vocabSize;
    final int clsId;
    final int sepId;
    final int maskId;
    final boolean[] continuation;

    MaskingContext(Vocab vocab, CreateDataConfig config) {
      vocabSize = vocab.size();
      clsId = vocab.clsId();
      sepId = vocab.sepId();
      maskId = vocab.maskId();
      continuation = new boolean[vocabSize];
      if (config.wholeWordMask()) {
        for (int id = 0; id < vocabSize; id++) {
          continuation[id] = vocab.token(id).startsWith("##");
        }
      }
    }
  }

  /**
   * One output shard: its random stream, its window of recent documents, its shuffle buffer and its
   * writer. Only its worker thread touches it.
   */
  private static final class Shard {
    private final CreateDataConfig config;
    private final MaskingContext masking;
    private final Path temp;
    private final SplittableRandom rng;
    private final TfRecordWriter writer;
    private final int[][][] window = new int[RANDOM_DOCUMENT_WINDOW][][];
    private int windowSize;
    private int windowNext;
    private final byte[][] buffer = new byte[SHUFFLE_BUFFER][];
    private int buffered;

    Shard(int shard, CreateDataConfig config, MaskingContext masking, Path temp) {
      this.config = config;
      this.masking = masking;
      this.temp = temp;
      // The golden-ratio multiplier spreads (seed, shard) pairs far apart in seed space.
      this.rng = new SplittableRandom(config.seed() ^ (0x9E3779B97F4A7C15L * (shard + 1L)));
      this.writer = new TfRecordWriter(temp);
    }

    /** Turns one document into instances dupeFactor times; returns how many it made. */
    int add(int[][] document) {
      int made = 0;
      for (int d = 0; d < config.dupeFactor(); d++) {
        made += createInstances(document);
      }
      window[windowNext] = document;
      windowNext = (windowNext + 1) % window.length;
      windowSize = Math.min(windowSize + 1, window.length);
      return made;
    }

    /** BERT's {@code create_instances_from_document}, over token ids. */
    private int createInstances(int[][] document) {
      // Account for [CLS], [SEP], [SEP].
      int maxNumTokens = config.maxSeqLength() - 3;
      // Mostly fill the sequence (padding is wasted compute), but sometimes go shorter to match
      // fine-tuning inputs; the target is soft, maxSeqLength is the hard limit.
      int targetLength = maxNumTokens;
      if (rng.nextDouble() < config.shortSeqProb()) {
        targetLength = rng.nextInt(2, maxNumTokens + 1);
      }
      int made = 0;
      List<int[]> chunk = new ArrayList<>();
      int chunkLength = 0;
      int i = 0;
      while (i < document.length) {
        chunk.add(document[i]);
        chunkLength += document[i].length;
        if (i == document.length - 1 || chunkLength >= targetLength) {
          // Split at sentence boundaries, not at a random token, so NSP is not trivially easy.
          int aEnd = chunk.size() >= 2 ? rng.nextInt(1, chunk.size()) : 1;
          IntSpan a = new IntSpan();
          for (int j = 0; j < aEnd; j++) {
            a.addAll(chunk.get(j));
          }
          IntSpan b = new IntSpan();
          boolean isRandomNext = chunk.size() == 1 || rng.nextDouble() < 0.5;
          if (isRandomNext) {
            int targetB = targetLength - a.length();
            int[][] other = randomDocument(document);
            for (int j = rng.nextInt(other.length); j < other.length; j++) {
              b.addAll(other[j]);
              if (b.length() >= targetB) {
                break;
              }
            }
            // The segments after aEnd were not used; put them back for the next instance.
            i -= chunk.size() - aEnd;
          } else {
            for (int j = aEnd; j < chunk.size(); j++) {
              b.addAll(chunk.get(j));
            }
          }
          truncateSeqPair(a, b, maxNumTokens);
          write(maskedInstance(a, b, isRandomNext));
          made++;
          chunk.clear();
          chunkLength = 0;
        }
        i++;
      }
      return made;
    }

    /**
     * A document from the recent window. The current document enters the window only after its
     * instances are made, so it is never its own random next; the very first document of a shard
     * has nothing else to use, as in BERT with a one-document corpus.
     */
    private int[][] randomDocument(int[][] current) {
      return windowSize == 0 ? current : window[rng.nextInt(windowSize)];
    }

    /** BERT's {@code truncate_seq_pair}: trim the longer side, from the front or back at random. */
    private void truncateSeqPair(IntSpan a, IntSpan b, int maxNumTokens) {
      while (a.length() + b.length() > maxNumTokens) {
        IntSpan longer = a.length() >= b.length() ? a : b;
        if (rng.nextDouble() < 0.5) {
          longer.dropFirst();
        } else {
          longer.dropLast();
        }
      }
    }

    /** {@code [CLS] A [SEP] B [SEP]} plus BERT's {@code create_masked_lm_predictions}. */
    private TrainingInstance maskedInstance(IntSpan a, IntSpan b, boolean isRandomNext) {
      int length = a.length() + b.length() + 3;
      int[] tokens = new int[length];
      int[] segments = new int[length];
      tokens[0] = masking.clsId;
      a.copyTo(tokens, 1);
      tokens[a.length() + 1] = masking.sepId;
      b.copyTo(tokens, a.length() + 2);
      tokens[length - 1] = masking.sepId;
      Arrays.fill(segments, a.length() + 2, length, 1);

      // Candidate groups: single positions, or whole words when ## pieces join their word.
      List<int[]> groups = new ArrayList<>(length);
      for (int i = 0; i < length; i++) {
        int t = tokens[i];
        if (t == masking.clsId || t == masking.sepId) {
          continue;
        }
        if (masking.continuation[t] && !groups.isEmpty()) {
          int[] last = groups.get(groups.size() - 1);
          int[] grown = Arrays.copyOf(last, last.length + 1);
          grown[last.length] = i;
          groups.set(groups.size() - 1, grown);
        } else {
          groups.add(new int[] {i});
        }
      }
      for (int i = groups.size() - 1; i > 0; i--) {
        int j = rng.nextInt(i + 1);
        int[] tmp = groups.get(i);
        groups.set(i, groups.get(j));
        groups.set(j, tmp);
      }
      // Python's round() rounds half to even, as Math.rint does.
      int numToPredict =
          Math.min(
              config.maxPredictionsPerSeq(),
              Math.max(1, (int) Math.rint(length * config.maskedLmProb())));
      int[] output = tokens.clone();
      boolean[] masked = new boolean[length];
      int count = 0;
      for (int[] group : groups) {
        if (count >= numToPredict) {
          break;
        }
        if (count + group.length > numToPredict) {
          continue;
        }
        for (int index : group) {
          masked[index] = true;
          count++;
          if (rng.nextDouble() < 0.8) {
            output[index] = masking.maskId;
          } else if (rng.nextDouble() >= 0.5) {
            output[index] = rng.nextInt(masking.vocabSize);
          }
          // else: 10% of the time the original token stays.
        }
      }
      int[] positions = new int[count];
      int[] labels = new int[count];
      for (int i = 0, k = 0; i < length; i++) {
        if (masked[i]) {
          positions[k] = i;
          labels[k++] = tokens[i];
        }
      }
      return new TrainingInstance(output, segments, positions, labels, isRandomNext);
    }

    /** Adds to the shuffle buffer; when it is full, a random buffered instance goes out first. */
    private void write(TrainingInstance instance) {
      byte[] record =
          PretrainingSchema.toExample(
                  instance, config.maxSeqLength(), config.maxPredictionsPerSeq())
              .toByteArray();
      if (buffered < buffer.length) {
        buffer[buffered++] = record;
        return;
      }
      int j = rng.nextInt(buffered);
      writer.write(buffer[j]);
      buffer[j] = record;
    }

    /** Shuffles and writes what is left in the buffer. */
    void finish() {
      for (int i = buffered - 1; i > 0; i--) {
        int j = rng.nextInt(i + 1);
        byte[] tmp = buffer[i];
        buffer[i] = buffer[j];
        buffer[j] = tmp;
      }
      for (int i = 0; i < buffered; i++) {
        writer.write(buffer[i]);
        buffer[i] = null;
      }
      buffered = 0;
      writer.close();
      // Flush to disk before the rename makes the file visible.
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        channel.force(true);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot sync " + temp, e);
      }
    }

    void close() {
      writer.close();
    }
  }

  /** A growable int list that can drop from both ends, for truncate_seq_pair. */
  private static final class IntSpan {
    private int[] data = new int[64];
    private int start;
    private int end;

    void addAll(int[] values) {
      if (end + values.length > data.length) {
        data = Arrays.copyOf(data, Math.max(data.length * 2, end + values.length));
      }
      System.arraycopy(values, 0, data, end, values.length);
      end += values.length;
    }

    int length() {
      return end - start;
    }

    void dropFirst() {
      start++;
    }

    void dropLast() {
      end--;
    }

    void copyTo(int[] target, int offset) {
      System.arraycopy(data, start, target, offset, end - start);
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

  private static String jsonString(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        default -> {
          if (c < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }
}
