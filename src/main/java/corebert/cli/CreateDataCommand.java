package corebert.cli;

import corebert.data.CreateDataConfig;
import corebert.data.PretrainingDataCreator;
import java.nio.file.Path;
import java.util.logging.Logger;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code corebert create-data}: text in google-research/bert's format to sharded TFRecords. */
final class CreateDataCommand implements Command {
  private static final Logger LOG = Logger.getLogger(CreateDataCommand.class.getName());

  @Override
  public String name() {
    return "create-data";
  }

  @Override
  public String summary() {
    return "turn a corpus (text, documents or JSON Lines, optionally gzipped) into TFRecords";
  }

  @Override
  public Options options() {
    Options o = new Options();
    Flags.addCorpusFormatOptions(o);
    o.addOption(
            Flags.requiredList(
                "input", "GLOB", "corpus files in --input-format, or globs; repeatable (required)"))
        .addOption(Flags.required("vocab", "FILE", "BERT vocab.txt (required)"))
        .addOption(
            Flags.required(
                "output",
                "DIR",
                "directory for part-NNNNN-of-NNNNN.tfrecord; must hold no *.tfrecord yet"
                    + " (required)"));
    return addInstanceOptions(o);
  }

  /** How instances are made and written, as google-research's create_pretraining_data.py. */
  private static Options addInstanceOptions(Options o) {
    return o.addOption(
            Flags.valued(
                "max-seq-length",
                "N",
                "tokens per instance with [CLS] and [SEP] (default "
                    + CreateDataConfig.DEFAULT_MAX_SEQ_LENGTH
                    + ")"))
        .addOption(
            Flags.valued(
                "max-predictions",
                "N",
                "masked positions per instance at most (default "
                    + CreateDataConfig.DEFAULT_MAX_PREDICTIONS_PER_SEQ
                    + ")"))
        .addOption(
            Flags.valued(
                "masked-lm-prob",
                "P",
                "fraction of tokens masked (default "
                    + CreateDataConfig.DEFAULT_MASKED_LM_PROB
                    + ")"))
        .addOption(
            Flags.valued(
                "dupe-factor",
                "N",
                "instances made from each document, each with new masks (default "
                    + CreateDataConfig.DEFAULT_DUPE_FACTOR
                    + ")"))
        .addOption(
            Flags.valued(
                "short-seq-prob",
                "P",
                "probability of a shorter random target length (default "
                    + CreateDataConfig.DEFAULT_SHORT_SEQ_PROB
                    + ")"))
        .addOption(
            Flags.valued(
                "shards",
                "N",
                "output files; document i goes to shard i % N (default "
                    + CreateDataConfig.DEFAULT_SHARDS
                    + ")"))
        .addOption(
            Flags.valued(
                "threads",
                "N",
                "worker threads; the output is the same for any value (default: available"
                    + " processors, "
                    + Runtime.getRuntime().availableProcessors()
                    + " here)"))
        .addOption(
            Flags.valued(
                "seed", "S", "random seed (default " + CreateDataConfig.DEFAULT_SEED + ")"))
        .addOption(
            Flags.flag("whole-word-mask", "mask all WordPieces of a word together (default: off)"))
        .addOption(
            Flags.flag("no-lowercase", "keep case, for cased vocabularies (default: lowercase)"));
  }

  @Override
  public int run(CommandLine line) {
    Path vocab = Flags.existingFile(line, "vocab");
    int maxSeq =
        Flags.intValue(
            line,
            "max-seq-length",
            CreateDataConfig.DEFAULT_MAX_SEQ_LENGTH,
            CreateDataConfig.MIN_SEQ_LENGTH);
    int maxPred =
        Flags.intValue(
            line, "max-predictions", CreateDataConfig.DEFAULT_MAX_PREDICTIONS_PER_SEQ, 1);
    if (maxPred > maxSeq) {
      throw new UsageException(
          "--max-predictions must be <= --max-seq-length " + maxSeq + ", got " + maxPred);
    }
    CreateDataConfig config =
        CreateDataConfig.builder(
                Flags.globs(line, "input"), vocab, Path.of(line.getOptionValue("output")))
            .maxSeqLength(maxSeq)
            .maxPredictionsPerSeq(maxPred)
            .maskedLmProb(
                Flags.doubleValue(
                    line, "masked-lm-prob", CreateDataConfig.DEFAULT_MASKED_LM_PROB, 1e-6, 1.0))
            .dupeFactor(
                Flags.intValue(line, "dupe-factor", CreateDataConfig.DEFAULT_DUPE_FACTOR, 1))
            .shortSeqProb(
                Flags.doubleValue(
                    line, "short-seq-prob", CreateDataConfig.DEFAULT_SHORT_SEQ_PROB, 0.0, 1.0))
            .shards(Flags.intValue(line, "shards", CreateDataConfig.DEFAULT_SHARDS, 1))
            .threads(Flags.intValue(line, "threads", Runtime.getRuntime().availableProcessors(), 1))
            .seed(Flags.longValue(line, "seed", CreateDataConfig.DEFAULT_SEED, Long.MIN_VALUE))
            .wholeWordMask(line.hasOption("whole-word-mask"))
            .lowerCase(!line.hasOption("no-lowercase"))
            .format(Flags.corpusFormat(line), Flags.textField(line))
            .build();
    PretrainingDataCreator.Summary summary = PretrainingDataCreator.run(config);
    LOG.info(
        () ->
            String.format(
                "wrote %d instances from %d documents to %d files in %s",
                summary.instances(),
                summary.documents(),
                summary.files().size(),
                config.outputDir()));
    System.out.println(summary.toJson());
    return 0;
  }
}
