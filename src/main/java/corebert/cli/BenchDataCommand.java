package corebert.cli;

import static corebert.cli.Flags.*;

import corebert.bench.DataBenchmark;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** `corebert bench data`: create-data tokens/s and peak memory against corpus size and threads. */
final class BenchDataCommand implements Command {
  private static final String OUTPUT = "eval/bench-data";
  private static final String WORK = "work/bench-data";

  @Override
  public String name() {
    return "bench data";
  }

  @Override
  public String summary() {
    return "create-data tokens/s and peak RSS vs corpus size and --threads -> JSON + PNG";
  }

  @Override
  public Options options() {
    Options o = new Options();
    o.addOption(required("input", "FILE", "text corpus (e.g. data/brown/brown-train.txt)"));
    o.addOption(required("vocab", "FILE", "vocab.txt"));
    o.addOption(
        valued("repeats", "R,...", "corpus sizes as repetitions of --input (default 1,10)"));
    o.addOption(valued("threads", "T,...", "create-data --threads values (default 1,2)"));
    o.addOption(valued("max-seq-length", "N", "sequence length (default 128)"));
    o.addOption(valued("shards", "N", "output shards, the same for every run (default 4)"));
    o.addOption(valued("heap-mb", "MB", "-Xmx of each create-data JVM (default 1024)"));
    o.addOption(workDir("scratch corpora and output", WORK));
    o.addOption(outputPrefix(OUTPUT));
    return o;
  }

  @Override
  public int run(CommandLine line) throws Exception {
    Path prefix = outputPrefix(line, OUTPUT);
    DataBenchmark.run(
        new DataBenchmark.Settings(
            existingFile(line, "input"),
            existingFile(line, "vocab"),
            intList(line, "repeats", "1,10", 1),
            intList(line, "threads", "1,2", 1),
            intValue(line, "max-seq-length", 128, 8),
            intValue(line, "shards", 4, 1),
            intValue(line, "heap-mb", 1024, 64),
            workDir(line, WORK),
            prefix,
            echo(name(), line),
            CoreBert.class));
    System.out.println(prefix + ".json");
    return 0;
  }
}
