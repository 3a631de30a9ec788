package corebert.run;

import com.fasterxml.jackson.databind.JsonNode;
import corebert.train.Checkpoints;
import corebert.train.HeldOutCurve.Point;
import corebert.util.Chart;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A finished run's report: {@code report.json} (final held-out metrics, the switch, the curve,
 * where the models went) and {@code report.png} (held-out loss against training time, the switch
 * marked), both from {@code curve.json}.
 */
public final class RunReport {
  /**
   * report.json: the final held-out figures against the unigram model's, the switch (CoRe only: the
   * held-out points either side of surgery and the masked loss's jump), what training.json says,
   * where the models went, the run's settings and the whole curve. {@code report} is set only in
   * what `run` prints, which leaves out the settings and the curve.
   */
  public record Report(
      long finalStep,
      double trainingSec,
      double finalMlmLossMasked,
      double finalMlmAccuracyMasked,
      double finalMlmLoss,
      double finalMlmAccuracy,
      double unigramLoss,
      String unigramOf,
      Long surgeryStep,
      Point beforeSurgery,
      Point afterSurgery,
      Double switchJump,
      JsonNode training,
      String savedModel,
      String huggingFace,
      String reportPng,
      JsonNode settings,
      List<Point> curve,
      String report) {
    /** What `run` prints: the report without its settings and curve, and where it is. */
    public Report summary(Path reportFile) {
      return new Report(
          finalStep,
          trainingSec,
          finalMlmLossMasked,
          finalMlmAccuracyMasked,
          finalMlmLoss,
          finalMlmAccuracy,
          unigramLoss,
          unigramOf,
          surgeryStep,
          beforeSurgery,
          afterSurgery,
          switchJump,
          training,
          savedModel,
          huggingFace,
          reportPng,
          null,
          null,
          reportFile.toString());
    }
  }

  private RunReport() {}

  static void write(Path dir, RunSettings s, boolean core) {
    CorpusRun.Curve curve =
        Jackson.read(CorpusRun.read(dir.resolve(CorpusRun.CURVE)), CorpusRun.Curve.class);
    List<Point> points = curve.points();
    Point last = points.get(points.size() - 1);
    int relaxedPoints = (int) points.stream().filter(p -> p.phase().equals("relaxed")).count();
    // Surgery's checkpoint is the first full point, at the last relaxed step.
    Point before = core ? points.get(relaxedPoints - 1) : null;
    Point after = core ? points.get(relaxedPoints) : null;
    Report report =
        new Report(
            last.step(),
            last.sec(),
            last.loss(),
            last.accuracy(),
            last.plainLoss(),
            last.plainAccuracy(),
            curve.unigramLoss(),
            curve.unigramOf(),
            core ? after.step() : null,
            before,
            after,
            core ? after.loss() - before.loss() : null,
            readTree(dir.resolve(CorpusRun.TRAINING_SUMMARY)),
            dir.resolve(CorpusRun.SAVED_MODEL).toString(),
            dir.resolve(CorpusRun.HUGGING_FACE).toString(),
            dir.resolve(CorpusRun.REPORT_PNG).toString(),
            Jackson.MAPPER.valueToTree(s.fingerprint()),
            points,
            null);
    List<Chart.Marker> markers =
        core
            ? List.of(new Chart.Marker("surgery, step " + after.step(), after.sec(), 2))
            : List.of();
    chart(dir, core, points, relaxedPoints, markers, curve.unigramLoss());
    Checkpoints.writeAtomically(dir.resolve(CorpusRun.REPORT), Jackson.writePretty(report));
  }

  /** report.png: both held-out losses against training time, the switch and the unigram line. */
  private static void chart(
      Path dir,
      boolean core,
      List<Point> points,
      int relaxedPoints,
      List<Chart.Marker> markers,
      double unigramLoss) {
    double[] sec = points.stream().mapToDouble(Point::sec).toArray();
    Chart.lines(
        dir.resolve(CorpusRun.REPORT_PNG),
        core
            ? "Held-out MLM loss: CoRe (dashed: relaxed BERT; solid: full BERT)"
            : "Held-out MLM loss: continued pretraining",
        "training seconds (surgery not counted)",
        "held-out MLM loss",
        List.of(
            new Chart.Line(
                "scored tokens masked (no copying)",
                sec,
                points.stream().mapToDouble(Point::loss).toArray(),
                relaxedPoints,
                0,
                0,
                true),
            new Chart.Line(
                "as written (10% of scored tokens visible)",
                sec,
                points.stream().mapToDouble(Point::plainLoss).toArray(),
                relaxedPoints,
                1,
                0,
                false)),
        markers,
        List.of(new Chart.Level("unigram model (no context)", unigramLoss)));
  }

  private static JsonNode readTree(Path file) {
    try {
      return Jackson.readTree(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
