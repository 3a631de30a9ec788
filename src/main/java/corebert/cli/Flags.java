package corebert.cli;

import corebert.data.CorpusFormat;
import corebert.export.ExportFormat;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.Precision;
import corebert.train.CpuFeatures;
import corebert.train.NativeSessions;
import corebert.train.PrecisionChoice;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

/** Typed, validated reads of command-line values; every failure names the flag and the value. */
final class Flags {
  private static final Logger LOG = Logger.getLogger(Flags.class.getName());

  private Flags() {}

  /** An option taking one value, shown as {@code --name ARG}. */
  static Option valued(String name, String arg, String description) {
    return Option.builder().longOpt(name).hasArg().argName(arg).desc(description).build();
  }

  /** A required option taking one value. */
  static Option required(String name, String arg, String description) {
    return mandatory(valued(name, arg, description));
  }

  /** A benchmark's results: {@code --output PREFIX} writes PREFIX.json and PREFIX.png. */
  static Option outputPrefix(String defaultPrefix) {
    return valued(
        "output", "PREFIX", "writes PREFIX.json and PREFIX.png (default " + defaultPrefix + ")");
  }

  static Path outputPrefix(CommandLine line, String defaultPrefix) {
    return Path.of(line.getOptionValue("output", defaultPrefix));
  }

  /** A benchmark's scratch folder, {@code --work-dir DIR}, holding {@code what}. */
  static Option workDir(String what, String defaultDir) {
    return valued("work-dir", "DIR", what + " (default " + defaultDir + ")");
  }

  static Path workDir(CommandLine line, String defaultDir) {
    return Path.of(line.getOptionValue("work-dir", defaultDir));
  }

  /** A switch without a value. */
  static Option flag(String name, String description) {
    return Option.builder().longOpt(name).desc(description).build();
  }

  /** An optional option that repeats or takes several values (globs). */
  static Option optionalList(String name, String arg, String description) {
    return Option.builder().longOpt(name).hasArgs().argName(arg).desc(description).build();
  }

  /** A required option that repeats or takes several values (globs). */
  static Option requiredList(String name, String arg, String description) {
    return mandatory(optionalList(name, arg, description));
  }

  private static Option mandatory(Option o) {
    o.setRequired(true);
    return o;
  }

  /** {@code --precision}, with {@code what} it sets and what auto means. */
  static Option precisionOption(String what) {
    return valued(
        "precision",
        "auto|fp32|bf16|fp16",
        what
            + "; auto (the default) takes bf16 on a GPU or on a CPU with native bf16 (avx512_bf16"
            + " or amx_bf16) and fp32 elsewhere, where bf16 is slower");
  }

  /** --input-format and --text-field, for commands that read corpus text. */
  static void addCorpusFormatOptions(Options o) {
    o.addOption(
        valued(
            "input-format",
            "auto|text|documents|jsonl",
            "text: google-research's one sentence per line, blank lines between documents;"
                + " documents: one document per file, sentences split by java.text.BreakIterator;"
                + " jsonl: one JSON document per line; any of them gzipped when the name ends in"
                + " .gz (default auto: jsonl for .jsonl/.json names, else text)"));
    o.addOption(valued("text-field", "NAME", "the JSONL field holding the text (default text)"));
  }

  static CorpusFormat corpusFormat(CommandLine line) {
    try {
      return CorpusFormat.parse(line.getOptionValue("input-format", "auto"));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--input-format: " + e.getMessage());
    }
  }

  static String textField(CommandLine line) {
    return line.getOptionValue("text-field", "text");
  }

  /**
   * {@code --precision}: auto (default), fp32, bf16 or fp16, resolved for this machine; logs the
   * choice and why, and warns when an explicit bf16 will be slower than fp32 here.
   */
  static Precision precision(CommandLine line) {
    String name = line.getOptionValue("precision", "auto");
    Optional<Precision> requested;
    try {
      requested =
          name.equalsIgnoreCase("auto") ? Optional.empty() : Optional.of(Precision.parse(name));
    } catch (IllegalArgumentException e) {
      throw new UsageException("--precision must be auto, fp32, bf16 or fp16, got '" + name + "'");
    }
    PrecisionChoice choice =
        PrecisionChoice.resolve(requested, CpuFeatures.ofThisMachine(), NativeSessions::gpuCount);
    LOG.info(choice.logLine());
    choice.warning().ifPresent(w -> LOG.warning("--precision " + name + ": " + w));
    return choice.precision();
  }

  /** A {@code --gradient-precision} value: fp32 or bf16. */
  static Precision gradientPrecision(String name) {
    if (name.equalsIgnoreCase("fp32") || name.equalsIgnoreCase("bf16")) {
      return Precision.parse(name);
    }
    throw new UsageException("--gradient-precision must be fp32 or bf16, got '" + name + "'");
  }

  /** Comma-separated integers, each at least {@code min}. */
  static int[] intList(CommandLine line, String flag, String defaultValue, int min) {
    return Arrays.stream(doubleList(line, flag, defaultValue, min, Integer.MAX_VALUE))
        .mapToInt(
            v -> {
              if (v != Math.rint(v)) {
                throw new UsageException("--" + flag + " must be integers separated by commas");
              }
              return (int) v;
            })
        .toArray();
  }

  /** Comma-separated numbers, each in [min, max]. */
  static double[] doubleList(
      CommandLine line, String flag, String defaultValue, double min, double max) {
    String raw = line.getOptionValue(flag, defaultValue);
    double[] values;
    try {
      values =
          Arrays.stream(raw.split(",")).mapToDouble(s -> Double.parseDouble(s.trim())).toArray();
    } catch (NumberFormatException e) {
      throw new UsageException(
          "--" + flag + " must be numbers separated by commas, got '" + raw + "'");
    }
    for (double v : values) {
      if (!(v >= min && v <= max)) {
        throw new UsageException(
            "--" + flag + " values must be in [" + min + ", " + max + "], got " + v);
      }
    }
    return values;
  }

  /** The command line that reproduces a run, for benchmark results. */
  static String echo(String command, CommandLine line) {
    StringBuilder sb = new StringBuilder("bin/corebert ").append(command);
    for (Option o : line.getOptions()) {
      sb.append(" --").append(o.getLongOpt());
      if (o.hasArg()) {
        for (String v : o.getValues()) {
          sb.append(' ').append(v.contains("*") || v.contains(" ") ? "'" + v + "'" : v);
        }
      }
    }
    return sb.toString();
  }

  static int intValue(CommandLine line, String flag, int defaultValue, int min) {
    long value = longValue(line, flag, defaultValue, min);
    if (value > Integer.MAX_VALUE) {
      throw new UsageException("--" + flag + " must be <= " + Integer.MAX_VALUE + ", got " + value);
    }
    return (int) value;
  }

  static long longValue(CommandLine line, String flag, long defaultValue, long min) {
    if (!line.hasOption(flag)) {
      return defaultValue;
    }
    long value = parsed(line, flag, Long::parseLong, "an integer");
    if (value < min) {
      throw new UsageException("--" + flag + " must be >= " + min + ", got " + value);
    }
    return value;
  }

  static double doubleValue(
      CommandLine line, String flag, double defaultValue, double min, double max) {
    if (!line.hasOption(flag)) {
      return defaultValue;
    }
    double value = parsed(line, flag, Double::parseDouble, "a number");
    if (!(value >= min && value <= max)) {
      throw new UsageException(
          "--" + flag + " must be in [" + min + ", " + max + "], got " + line.getOptionValue(flag));
    }
    return value;
  }

  /** The given flag's value through {@code parse}; the default is the caller's to apply. */
  private static <T> T parsed(
      CommandLine line, String flag, Function<String, T> parse, String kind) {
    String raw = line.getOptionValue(flag);
    try {
      return parse.apply(raw.trim());
    } catch (NumberFormatException e) {
      throw new UsageException("--" + flag + " must be " + kind + ", got '" + raw + "'");
    }
  }

  /** A path that must exist as a regular file. */
  static Path existingFile(CommandLine line, String flag) {
    Path path = Path.of(line.getOptionValue(flag));
    if (!Files.isRegularFile(path)) {
      throw new UsageException("--" + flag + ": no such file: " + path);
    }
    return path;
  }

  /**
   * Expands each value of a repeatable glob flag (`data/*.txt`, `dir/**.tfrecord`) into the sorted
   * list of matching regular files. A value that matches nothing is an error naming it.
   */
  static List<Path> globs(CommandLine line, String flag) {
    List<Path> files = new ArrayList<>();
    for (String pattern : line.getOptionValues(flag)) {
      List<Path> matched = expandGlob(pattern);
      if (matched.isEmpty()) {
        throw new UsageException("--" + flag + ": no file matches '" + pattern + "'");
      }
      files.addAll(matched);
    }
    return files;
  }

  static List<Path> expandGlob(String pattern) {
    Path literal = Path.of(pattern);
    if (!pattern.contains("*") && !pattern.contains("?") && !pattern.contains("[")) {
      return Files.isRegularFile(literal) ? List.of(literal) : List.of();
    }
    // Walk from the longest directory prefix that has no glob characters.
    String normalized = pattern.replace('\\', '/');
    int firstGlob = indexOfGlob(normalized);
    int slash = normalized.lastIndexOf('/', firstGlob);
    Path base = slash < 0 ? Path.of(".") : Path.of(normalized.substring(0, slash + 1));
    String rest = slash < 0 ? normalized : normalized.substring(slash + 1);
    if (!Files.isDirectory(base)) {
      return List.of();
    }
    PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + rest);
    int depth = rest.contains("**") ? Integer.MAX_VALUE : rest.split("/").length;
    try (Stream<Path> walk = Files.walk(base, depth)) {
      return walk.filter(Files::isRegularFile)
          .filter(p -> matcher.matches(base.relativize(p)))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + base, e);
    }
  }

  private static int indexOfGlob(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?' || c == '[' || c == '{') {
        return i;
      }
    }
    return s.length();
  }

  /** Parses {@code --model}. */
  static Variant variant(CommandLine line) {
    String model = line.getOptionValue("model", "full");
    return switch (model) {
      case "full" -> Variant.FULL;
      case "relaxed" -> Variant.RELAXED;
      default -> throw new UsageException("--model must be full or relaxed, got '" + model + "'");
    };
  }

  /** Loads {@code --config}, which must have a "relaxed" block. */
  static BertConfig relaxedConfig(CommandLine line) {
    BertConfig cfg = config(line);
    if (cfg.relaxed().isEmpty()) {
      throw new UsageException(
          "--config " + line.getOptionValue("config") + " has no \"relaxed\" block");
    }
    return cfg;
  }

  /** Loads {@code --config}; a malformed file is a usage error naming it. */
  static BertConfig config(CommandLine line) {
    Path path = existingFile(line, "config");
    try {
      return BertConfig.fromJsonFile(path);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--config " + e.getMessage());
    }
  }

  /** {@code --format}: one export format or several, comma-separated (default savedmodel). */
  static List<ExportFormat> exportFormats(CommandLine line) {
    List<ExportFormat> formats = new ArrayList<>();
    for (String f : line.getOptionValue("format", "savedmodel").split(",")) {
      try {
        formats.add(ExportFormat.parse(f.strip()));
      } catch (IllegalArgumentException e) {
        throw new UsageException("--" + e.getMessage());
      }
    }
    return formats;
  }
}
