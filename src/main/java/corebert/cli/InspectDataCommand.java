package corebert.cli;

import corebert.data.InspectData;
import corebert.data.Vocab;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code corebert inspect-data}: validates pretraining TFRecords and prints a few decoded. */
final class InspectDataCommand implements Command {
  static final int DEFAULT_LIMIT = 3;

  @Override
  public String name() {
    return "inspect-data";
  }

  @Override
  public String summary() {
    return "check every record of pretraining TFRecords (CRC, schema) and print a few decoded";
  }

  @Override
  public Options options() {
    return new Options()
        .addOption(
            Flags.requiredList("input", "GLOB", "TFRecord files or globs, repeatable (required)"))
        .addOption(Flags.valued("limit", "N", "examples to print (default " + DEFAULT_LIMIT + ")"))
        .addOption(
            Flags.valued(
                "vocab",
                "FILE",
                "vocab.txt to show tokens instead of ids (default: none, print ids)"));
  }

  @Override
  public int run(CommandLine line) {
    int limit = Flags.intValue(line, "limit", DEFAULT_LIMIT, 0);
    Vocab vocab = line.hasOption("vocab") ? Vocab.load(Flags.existingFile(line, "vocab")) : null;
    InspectData.Summary summary =
        InspectData.run(Flags.globs(line, "input"), limit, vocab, System.out);
    System.out.println(summary.toJson());
    return 0;
  }
}
