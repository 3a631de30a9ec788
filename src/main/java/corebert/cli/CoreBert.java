package corebert.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/**
 * `corebert <command> [options]`: the one entry point. It parses, dispatches, and maps failures to
 * one stderr line with exit code 2 (usage) or 1 (runtime); `--verbose` adds the stack trace.
 */
public final class CoreBert {
  static final int EXIT_RUNTIME = 1;
  static final int EXIT_USAGE = 2;

  private static final List<Command> COMMANDS =
      List.of(
          // commands are added here, in pipeline order
          new VocabCommand(),
          new CreateDataCommand(),
          new InspectDataCommand(),
          new PretrainCommand(),
          new EvaluateCommand(),
          new ConvertCommand(),
          new ImportCommand(),
          new CoreCommand(),
          new ExportCommand(),
          new FinetuneCommand(),
          new BenchStepCommand(),
          new BenchCoreCommand(),
          new BenchDataCommand(),
          new BenchScaleCommand(),
          new InfoCommand(),
          new RunCommand(),
          new QuickstartCommand());

  private CoreBert() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs one command line and returns its exit code; tests call this in-process. */
  public static int run(String... args) {
    boolean verbose = Arrays.asList(args).contains("--verbose");
    configureLogging(verbose);
    Map<String, Command> byName = new LinkedHashMap<>();
    COMMANDS.forEach(c -> byName.put(c.name(), c));
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      printTopHelp(byName);
      return args.length == 0 ? EXIT_USAGE : 0;
    }
    // Two-word commands ("bench step") take their second word too.
    int words = args.length > 1 && byName.containsKey(args[0] + " " + args[1]) ? 2 : 1;
    Command command = byName.get(words == 2 ? args[0] + " " + args[1] : args[0]);
    if (command == null) {
      List<String> group =
          byName.keySet().stream().filter(n -> n.startsWith(args[0] + " ")).toList();
      System.err.println(
          group.isEmpty()
              ? "corebert: unknown command '"
                  + args[0]
                  + "'; commands: "
                  + String.join(", ", byName.keySet())
              : "corebert " + args[0] + ": give one of: " + String.join(", ", group));
      return EXIT_USAGE;
    }
    Options options = command.options();
    options.addOption(Option.builder().longOpt("help").desc("show this help and exit").build());
    options.addOption(
        Option.builder()
            .longOpt("verbose")
            .desc("debug logging and stack traces on error")
            .build());
    String[] rest = Arrays.copyOfRange(args, words, args.length);
    if (Arrays.asList(rest).contains("--help")) {
      printCommandHelp(command, options);
      return 0;
    }
    try {
      CommandLine line = new DefaultParser().parse(options, rest);
      if (!command.takesArguments() && !line.getArgList().isEmpty()) {
        throw new UsageException("unexpected argument '" + line.getArgList().get(0) + "'");
      }
      return command.run(line);
    } catch (ParseException | UsageException e) {
      System.err.println("corebert " + command.name() + ": " + e.getMessage());
      System.err.println("Try 'corebert " + command.name() + " --help'.");
      if (verbose) {
        e.printStackTrace();
      }
      return EXIT_USAGE;
    } catch (Exception | OutOfMemoryError e) {
      System.err.println("corebert " + command.name() + ": error: " + describe(e));
      if (verbose) {
        e.printStackTrace();
      }
      return EXIT_RUNTIME;
    }
  }

  /**
   * The message of the innermost cause that has one, prefixed with its kind when it is not ours.
   */
  private static String describe(Throwable e) {
    Throwable t = e;
    String message = e.getMessage();
    while (t.getCause() != null && (message == null || message.isBlank())) {
      t = t.getCause();
      message = t.getMessage();
    }
    if (message == null || message.isBlank()) {
      return t.getClass().getSimpleName();
    }
    // TF status messages can span many lines; the first carries the cause.
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  private static void printTopHelp(Map<String, Command> byName) {
    StringBuilder sb = new StringBuilder();
    sb.append("usage: corebert <command> [options]\n\n");
    sb.append("Pretrains BERT with the CoRe schedule (relaxed BERT -> surgery -> full BERT).\n\n");
    sb.append("commands:\n");
    byName.values().forEach(c -> sb.append(String.format("  %-23s %s%n", c.name(), c.summary())));
    sb.append("\nRun 'corebert <command> --help' for its options.\n");
    System.err.print(sb);
  }

  private static void printCommandHelp(Command command, Options options) {
    HelpFormatter formatter = new HelpFormatter();
    formatter.setOptionComparator(null);
    PrintWriter out = new PrintWriter(System.err);
    formatter.printHelp(
        out,
        100,
        "corebert " + command.name() + " [options]",
        command.summary(),
        options,
        2,
        3,
        command.footer(),
        false);
    out.flush();
  }

  private static void configureLogging(boolean verbose) {
    Logger root = Logger.getLogger("");
    Arrays.stream(root.getHandlers()).forEach(root::removeHandler);
    ConsoleHandler handler = new ConsoleHandler(); // stderr
    handler.setFormatter(
        new Formatter() {
          @Override
          public String format(LogRecord r) {
            return String.format("%tT %s%n", r.getMillis(), formatMessage(r));
          }
        });
    Level level = verbose ? Level.FINE : Level.INFO;
    handler.setLevel(level);
    root.addHandler(handler);
    root.setLevel(level);
  }
}
