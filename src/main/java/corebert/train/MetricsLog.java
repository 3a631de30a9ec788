package corebert.train;

import com.fasterxml.jackson.databind.JsonNode;
import corebert.data.TfRecordWriter;
import corebert.util.Jackson;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * Writes each logged step to {@code metrics.jsonl} (one JSON object a line) and to a TensorBoard
 * event file with the same scalars. On resume, lines past the restored step are dropped first, so
 * the file never has a duplicated or out-of-order step.
 */
public final class MetricsLog implements AutoCloseable {

  /**
   * One logged step: its phase (full or relaxed), the losses, MLM accuracy and learning rate of the
   * step, the gradient norm, throughput over the steps since the last line, training seconds so far
   * (across resumes and phases), resident memory in MB (null where /proc is absent), and the CPU
   * seconds this process has used so far, every thread (null where the OS does not say): over the
   * seconds between two lines, the cores the step kept busy.
   */
  public record Entry(
      long step,
      String phase,
      double loss,
      double mlmLoss,
      double nspLoss,
      double mlmAccuracy,
      double lr,
      double gradNorm,
      double examplesPerSec,
      double elapsedSec,
      Double rssMb,
      Double cpuSec) {}

  private final BufferedWriter jsonl;
  private final TfRecordWriter events;

  /**
   * Opens the logs of {@code dir} to continue after {@code resumedStep} (0 for a fresh run). Steps
   * above it belong to work the crash lost and are removed.
   */
  public MetricsLog(Path dir, long resumedStep) {
    Path file = dir.resolve(RunDir.METRICS);
    try {
      truncateAfter(file, resumedStep);
      jsonl =
          Files.newBufferedWriter(
              file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      String host = InetAddress.getLocalHost().getHostName();
      Path eventsFile =
          dir.resolve(
              "events.out.tfevents."
                  + System.currentTimeMillis() / 1000
                  + "."
                  + host
                  + ".corebert");
      events = new TfRecordWriter(eventsFile);
      events.write(
          Event.newBuilder()
              .setWallTime(System.currentTimeMillis() / 1000.0)
              .setFileVersion("brain.Event:2")
              .build()
              .toByteArray());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open metrics in " + dir, e);
    }
  }

  /** Appends one entry; its numbers but the step also become TensorBoard scalars, by JSON key. */
  public void log(Entry entry) {
    try {
      jsonl.write(Jackson.write(entry));
      jsonl.newLine();
      jsonl.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + RunDir.METRICS, e);
    }
    Summary.Builder summary = Summary.newBuilder();
    Jackson.MAPPER
        .valueToTree(entry)
        .properties()
        .forEach(
            f -> {
              if (f.getValue().isNumber() && !f.getKey().equals("step")) {
                summary.addValue(
                    Summary.Value.newBuilder()
                        .setTag(f.getKey())
                        .setSimpleValue(f.getValue().floatValue()));
              }
            });
    events.write(
        Event.newBuilder()
            .setWallTime(System.currentTimeMillis() / 1000.0)
            .setStep(entry.step())
            .setSummary(summary)
            .build()
            .toByteArray());
    events.flush();
  }

  /**
   * Resident memory of this process in MB (VmRSS from /proc), native TF memory included, so a leak
   * of tensors per step shows in the metrics; NaN where /proc is absent.
   */
  public static double residentMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // not Linux: report nothing rather than a made-up number
    }
    return Double.NaN;
  }

  /** CPU seconds this process has used so far, all threads; null where the OS does not say. */
  public static Double processCpuSec() {
    return ProcessHandle.current()
        .info()
        .totalCpuDuration()
        .map(d -> d.toNanos() / 1e9)
        .orElse(null);
  }

  /** Reads every entry of a metrics file, in order; a line that does not fit is an error. */
  public static List<Entry> read(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (!lines.get(i).isBlank()) {
        try {
          out.add(Jackson.read(lines.get(i), Entry.class));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(file + ":" + (i + 1) + ": " + e.getMessage(), e);
        }
      }
    }
    return out;
  }

  private static void truncateAfter(Path file, long step) throws IOException {
    if (!Files.exists(file)) {
      return;
    }
    List<String> kept = new ArrayList<>();
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode s;
      try {
        s = Jackson.parseTree(line).path("step"); // only the step: any line of ours has one
      } catch (IllegalArgumentException e) {
        continue; // a line cut short by a crash
      }
      if (s.isIntegralNumber() && s.asLong() <= step) {
        kept.add(line);
      }
    }
    Checkpoints.writeAtomically(file, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
  }

  @Override
  public void close() {
    try {
      jsonl.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot close " + RunDir.METRICS, e);
    } finally {
      events.close();
    }
  }
}
