package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.core.CorePipeline;
import corebert.data.CreateDataConfig;
import corebert.export.HuggingFaceExport;
import corebert.export.HuggingFaceImport;
import corebert.model.BertConfig;
import corebert.run.CorpusRun;
import corebert.run.RunSettings;
import corebert.train.Checkpoints;
import corebert.train.RunDir;
import corebert.train.TrainConfig;
import corebert.util.Jackson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * `corebert run`: raw text to an evaluated, exported BERT in one resumable command. The defaults
 * are the settings the benchmarks measured best; see {@link #footer}.
 */
final class RunCommand implements Command {
  static final int DEFAULT_VOCAB_SIZE = 8000;
  static final double DEFAULT_HELDOUT = 0.01;
  static final int DEFAULT_BATCH = 16;
  static final long DEFAULT_WARMUP = 300;
  static final double DEFAULT_RELAXED_FRACTION = 0.7;
  static final double DEFAULT_RELAXED_LR = 1e-3;
  static final String DEFAULT_RELAXED_ATTENTION = BertConfig.Relaxed.SOFTMAX;
  static final int DEFAULT_RANK = 32;

  @Override
  public String name() {
    return "run";
  }

  @Override
  public String summary() {
    return "your own text to a finished BERT: split, vocab, data, CoRe, evaluation, exports and a"
        + " report, in one resumable command";
  }

  @Override
  public String footer() {
    StringBuilder sb = new StringBuilder("\nStages (each output written atomically; a rerun");
    sb.append(" continues at the first unfinished one, and refuses other settings or a changed");
    sb.append(" corpus):\n");
    for (int i = 0; i < CorpusRun.STAGES.size(); i++) {
      sb.append("  ").append(i + 1).append(". ").append(CorpusRun.STAGES.get(i)).append('\n');
    }
    sb.append(
        "\nDefaults are the best setting measured in the README's benchmark (bert-mini, batch 16,"
            + " 300 warm-up steps, phase 1 at lr 1e-3 with rank-32 kernels for 70% of the run,"
            + " phase 2 at lr 2e-4 with 50 warm-up steps, a joint schedule), with the softmax"
            + " relaxation, the switch lever that lost nothing at surgery and ended lowest where"
            + " BERT learns context (eval/exploration). The last stdout line is report.json without its curve.");
    return sb.toString();
  }

  @Override
  public Options options() {
    Options o = new Options();
    addCorpusOptions(o);
    addModelOptions(o);
    addDataOptions(o);
    addScheduleOptions(o);
    return o;
  }

  /** The corpus, its held-out part and where the run goes. */
  private static void addCorpusOptions(Options o) {
    o.addOption(
        requiredList("text", "GLOB", "the corpus: files or globs (dir/**.txt), repeatable"));
    o.addOption(
        optionalList(
            "heldout-text",
            "GLOB",
            "held-out documents of your own, instead of splitting them off the corpus"));
    addCorpusFormatOptions(o);
    o.addOption(required("output-dir", "DIR", "the run's directory; rerun to continue it"));
  }

  /** How long to train, and the model. */
  private static void addModelOptions(Options o) {
    o.addOption(
        valued(
            "time-budget",
            "DURATION",
            "training time of both phases, e.g. 2h, 90m, 600s or 600 (seconds)"));
    o.addOption(valued("steps", "N", "training steps of both phases, instead of --time-budget"));
    o.addOption(
        valued(
            "config",
            "FILE",
            "the architecture (bert_config.json; default graphs/bert-mini.json); its vocab_size is"
                + " replaced by the vocab's"));
    o.addOption(
        valued(
            "relaxed-attention",
            "softmax|linear_elu",
            "phase 1's attention (default "
                + DEFAULT_RELAXED_ATTENTION
                + ": surgery is exact; linear_elu is the paper's)"));
    o.addOption(
        valued("ffn-rank", "R", "phase 1's feed-forward rank (default " + DEFAULT_RANK + ")"));
    o.addOption(
        valued(
            "attention-rank",
            "R",
            "phase 1's Q/K/V/O rank, 0 for full kernels (default " + DEFAULT_RANK + ")"));
  }

  /** The vocab, the held-out share, a model to continue and the records. */
  private static void addDataOptions(Options o) {
    o.addOption(
        valued(
            "vocab-size",
            "N",
            "WordPiece vocab to train (default " + DEFAULT_VOCAB_SIZE + "), or give --vocab"));
    o.addOption(valued("vocab", "FILE", "use this vocab.txt instead of training one"));
    o.addOption(
        valued(
            "heldout",
            "F",
            "share of documents held out, chosen by document with --seed (default "
                + DEFAULT_HELDOUT
                + ", at least one document)"));
    o.addOption(
        valued(
            "init-checkpoint",
            "CKPT|HF_DIR",
            "continue pretraining this model (a checkpoint with bert_config.json and vocab.txt"
                + " beside it, or a Hugging Face folder) as full BERT, instead of CoRe from"
                + " scratch; its vocab and architecture are used"));
    o.addOption(
        valued(
            "seq-length",
            "N",
            "max_seq_length (default " + CreateDataConfig.DEFAULT_MAX_SEQ_LENGTH + ")"));
    o.addOption(
        valued(
            "max-predictions",
            "N",
            "max_predictions_per_seq (default "
                + CreateDataConfig.DEFAULT_MAX_PREDICTIONS_PER_SEQ
                + ")"));
    o.addOption(
        valued(
            "dupe-factor",
            "N",
            "times the training text is masked anew (default "
                + CreateDataConfig.DEFAULT_DUPE_FACTOR
                + ")"));
  }

  /** CoRe's schedule and the runtime. */
  private static void addScheduleOptions(Options o) {
    o.addOption(valued("batch-size", "N", "sequences per step (default " + DEFAULT_BATCH + ")"));
    o.addOption(
        valued(
            "warmup-steps",
            "N",
            "phase 1's warm-up (default " + DEFAULT_WARMUP + ", at most 10% of --steps)"));
    o.addOption(
        valued(
            "relaxed-fraction",
            "F",
            "phase 1's share of the steps or time (default " + DEFAULT_RELAXED_FRACTION + ")"));
    o.addOption(
        valued(
            "relaxed-lr",
            "RATE",
            "phase 1's peak learning rate (default " + DEFAULT_RELAXED_LR + ")"));
    o.addOption(
        valued(
            "full-lr",
            "RATE",
            "phase 2's peak learning rate, and that of a continued pretraining (default "
                + CorePipeline.Plan.DEFAULT_FULL_LR
                + ")"));
    o.addOption(
        valued(
            "full-warmup-steps",
            "N",
            "phase 2's re-warm-up (default " + CorePipeline.Plan.DEFAULT_FULL_WARMUP + ")"));
    o.addOption(
        valued(
            "seed",
            "S",
            "seed of the split, the masking, the weights and the shuffling (default "
                + TrainConfig.DEFAULT_SEED
                + ")"));
    o.addOption(
        valued(
            "threads", "N", "threads writing the training records (default: the machine's cores)"));
    o.addOption(flag("xla", "compile with XLA"));
    o.addOption(precisionOption("type of the model's matmuls"));
  }

  @Override
  public int run(CommandLine line) {
    Path dir = Path.of(line.getOptionValue("output-dir"));
    System.out.println(Jackson.write(CorpusRun.run(settings(line), dir)));
    return 0;
  }

  /** The run's settings from its flags, every default applied. */
  private static RunSettings settings(CommandLine line) {
    long steps = longValue(line, "steps", 0, 2);
    double budget = line.hasOption("time-budget") ? seconds(line, "time-budget") : 0;
    if ((steps > 0) == (budget > 0)) {
      throw new UsageException("give exactly one of --steps and --time-budget");
    }
    if (line.hasOption("vocab") && line.hasOption("vocab-size")) {
      throw new UsageException("give --vocab or --vocab-size, not both");
    }
    Optional<Path> init = Optional.ofNullable(line.getOptionValue("init-checkpoint")).map(Path::of);
    Path dir = Path.of(line.getOptionValue("output-dir"));
    init.ifPresent(i -> requireInitVocab(line, i));
    long seed = longValue(line, "seed", TrainConfig.DEFAULT_SEED, 0);
    // The default warm-up is at most a tenth of a short run; a given one is taken as it is.
    long warmup =
        line.hasOption("warmup-steps")
            ? longValue(line, "warmup-steps", DEFAULT_WARMUP, 0)
            : steps > 0 ? Math.min(DEFAULT_WARMUP, Math.max(1, steps / 10)) : DEFAULT_WARMUP;
    try {
      return new RunSettings(
          new RunSettings.Corpus(
              outside(dir, globs(line, "text")),
              line.hasOption("heldout-text")
                  ? outside(dir, globs(line, "heldout-text"))
                  : List.of(),
              corpusFormat(line),
              textField(line),
              doubleValue(line, "heldout", DEFAULT_HELDOUT, 1e-6, 0.5),
              seed),
          new RunSettings.Data(
              intValue(line, "vocab-size", DEFAULT_VOCAB_SIZE, 10),
              line.hasOption("vocab") ? Optional.of(existingFile(line, "vocab")) : Optional.empty(),
              intValue(
                  line,
                  "seq-length",
                  CreateDataConfig.DEFAULT_MAX_SEQ_LENGTH,
                  CreateDataConfig.MIN_SEQ_LENGTH),
              intValue(
                  line, "max-predictions", CreateDataConfig.DEFAULT_MAX_PREDICTIONS_PER_SEQ, 1),
              intValue(line, "dupe-factor", CreateDataConfig.DEFAULT_DUPE_FACTOR, 1)),
          new RunSettings.Training(
              steps,
              budget,
              doubleValue(line, "relaxed-fraction", DEFAULT_RELAXED_FRACTION, 0.01, 0.99),
              intValue(line, "batch-size", DEFAULT_BATCH, 1),
              warmup,
              doubleValue(line, "relaxed-lr", DEFAULT_RELAXED_LR, 1e-9, 0.999),
              doubleValue(line, "full-lr", CorePipeline.Plan.DEFAULT_FULL_LR, 1e-9, 0.999),
              longValue(line, "full-warmup-steps", CorePipeline.Plan.DEFAULT_FULL_WARMUP, 0),
              seed),
          init.isPresent() ? initModel(init.get()) : model(line),
          init,
          new RunSettings.Runtime(
              intValue(line, "threads", Runtime.getRuntime().availableProcessors(), 1),
              line.hasOption("xla"),
              precision(line)));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
  }

  /**
   * The files not under the run's own directory: a glob such as '**' + '/*.txt' would otherwise
   * take in the run's text and vocab on a rerun, and the changed corpus would be refused.
   */
  private static List<Path> outside(Path dir, List<Path> files) {
    Path root = dir.toAbsolutePath().normalize();
    List<Path> kept =
        files.stream().filter(f -> !f.toAbsolutePath().normalize().startsWith(root)).toList();
    if (kept.isEmpty()) {
      throw new UsageException("--text: every matching file is inside --output-dir " + dir);
    }
    return kept;
  }

  /**
   * A continued pretraining needs the model's own vocab: beside its checkpoint, in its Hugging Face
   * folder, or given; checked before the run's directory is made.
   */
  private static void requireInitVocab(CommandLine line, Path given) {
    if (line.hasOption("vocab")) {
      return;
    }
    Path folder =
        HuggingFaceImport.isModelDir(given)
            ? given
            : Checkpoints.resolve(given.toString()).toAbsolutePath().getParent();
    if (!Files.isRegularFile(folder.resolve("vocab.txt"))) {
      throw new UsageException(
          "--init-checkpoint "
              + given
              + ": no vocab.txt in "
              + folder
              + "; give the model's vocab with --vocab");
    }
  }

  /** The config's architecture with phase 1's relaxation from the flags. */
  private static BertConfig model(CommandLine line) {
    Path file =
        line.hasOption("config")
            ? existingFile(line, "config")
            : Path.of(System.getProperty("corebert.home", "."), "graphs/bert-mini.json");
    BertConfig cfg;
    try {
      cfg = BertConfig.fromJsonFile(file);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--config " + e.getMessage());
    }
    try {
      return cfg.withRelaxed(
          new BertConfig.Relaxed(
              line.getOptionValue("relaxed-attention", DEFAULT_RELAXED_ATTENTION),
              intValue(line, "ffn-rank", DEFAULT_RANK, 1),
              intValue(line, "attention-rank", DEFAULT_RANK, 0)));
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          "--relaxed-attention, --ffn-rank, --attention-rank: " + e.getMessage());
    }
  }

  /** The architecture of the model a continued pretraining starts from. */
  private static BertConfig initModel(Path given) {
    if (HuggingFaceImport.isModelDir(given)) {
      return HuggingFaceImport.config(given.resolve(HuggingFaceExport.CONFIG));
    }
    Path config =
        Checkpoints.resolve(given.toString()).toAbsolutePath().resolveSibling(RunDir.BERT_CONFIG);
    if (!Files.isRegularFile(config)) {
      throw new UsageException(
          "--init-checkpoint " + given + ": no " + RunDir.BERT_CONFIG + " next to the checkpoint");
    }
    return BertConfig.fromJsonFile(config);
  }

  private static final Pattern DURATION =
      Pattern.compile("(\\d{1,6})|(?:(\\d{1,6})h)?(?:(\\d{1,6})m)?(?:(\\d{1,6})s)?");

  /** A duration flag: 2h, 90m, 1h30m, 600s or 600 (seconds). */
  static double seconds(CommandLine line, String flag) {
    String raw = line.getOptionValue(flag).trim().toLowerCase(Locale.ROOT);
    Matcher m = DURATION.matcher(raw);
    if (raw.isEmpty() || !m.matches()) {
      throw new UsageException(
          "--" + flag + " must be a duration such as 2h, 90m, 1h30m or 600s, got '" + raw + "'");
    }
    long sec = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
    sec += m.group(2) == null ? 0 : Long.parseLong(m.group(2)) * 3600;
    sec += m.group(3) == null ? 0 : Long.parseLong(m.group(3)) * 60;
    sec += m.group(4) == null ? 0 : Long.parseLong(m.group(4));
    if (sec <= 0) {
      throw new UsageException("--" + flag + " must be positive, got '" + raw + "'");
    }
    return sec;
  }
}
