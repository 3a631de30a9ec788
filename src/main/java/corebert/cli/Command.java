package corebert.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** One `corebert <name>` sub-command: its options, and a run method that sees a parsed line. */
interface Command {

  /** The word after `corebert` on the command line. */
  String name();

  /** One line for the top-level `--help`. */
  String summary();

  /** Text after the options in `--help`: what the command does beyond its flags. */
  default String footer() {
    return "";
  }

  /** Whether words after the options are allowed (`bench step`); they reach {@link #run}. */
  default boolean takesArguments() {
    return false;
  }

  /** Every option with a description, its default in the text, and `.required()` where needed. */
  Options options();

  /**
   * Runs the command. Bad flags throw {@link UsageException} (exit 2); bad data, IO failures and
   * broken invariants throw anything else (exit 1). Only the result goes to stdout.
   *
   * @return the process exit code, 0 on success
   */
  int run(CommandLine line) throws Exception;
}
