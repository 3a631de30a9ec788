package corebert.cli;

import corebert.data.Vocab;
import corebert.data.VocabTrainer;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Logger;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert vocab`: trains a WordPiece vocab.txt from text files; prints its path and size. */
final class VocabCommand implements Command {
  private static final Logger LOG = Logger.getLogger(VocabCommand.class.getName());
  private static final int DEFAULT_SIZE = 8000;

  @Override
  public String name() {
    return "vocab";
  }

  @Override
  public String summary() {
    return "train a WordPiece vocab.txt (BERT format, lowercase by default) from a corpus";
  }

  @Override
  public Options options() {
    Options o = new Options();
    Flags.addCorpusFormatOptions(o);
    return o.addOption(
            Flags.requiredList(
                "input",
                "GLOB",
                "corpus files in --input-format (repeatable; globs like data/*.txt)"))
        .addOption(Flags.required("output", "FILE", "vocab.txt to write (replaced atomically)"))
        .addOption(
            Flags.valued(
                "size",
                "N",
                "vocab size including the 5 special tokens (default " + DEFAULT_SIZE + ")"))
        .addOption(
            Flags.flag(
                "no-lowercase", "keep case and accents (for cased models; default: lowercase)"));
  }

  @Override
  public int run(CommandLine line) {
    List<Path> inputs = Flags.globs(line, "input");
    Path output = Path.of(line.getOptionValue("output"));
    int size = Flags.intValue(line, "size", DEFAULT_SIZE, Vocab.SPECIAL_TOKENS.size() + 1);
    boolean lowerCase = !line.hasOption("no-lowercase");
    LOG.info(
        "vocab: " + inputs.size() + " input file(s), size " + size + ", lowercase " + lowerCase);
    Vocab vocab =
        VocabTrainer.train(
            inputs, Flags.corpusFormat(line), Flags.textField(line), size, lowerCase);
    vocab.write(output);
    System.out.println(output + " " + vocab.size());
    return 0;
  }
}
