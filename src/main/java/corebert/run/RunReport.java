package corebert.run;

import corebert.train.Checkpoints;
import corebert.train.HeldOutCurve.Point;
import corebert.util.Chart;
import corebert.util.Jackson;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A finished run's report: {@code report.json} (final held-out metrics, the switch, the curve,
 * where the models went) and {@code report.png} (held-out loss against training time, the switch
 * marked), both from {@code curve.json}.
 */
final class RunReport {
  private RunReport() {}

  static void write(Path dir, RunSettings s, boolean core) {
    Map<String, Object> curve = Jackson.parseObject(CorpusRun.read(dir.resolve(CorpusRun.CURVE)));
    List<Point> points = new ArrayList<>();
    for (Object o : (List<?>) curve.get("points")) {
      points.add(Point.fromJson((Map<?, ?>) o));
    }
    Point last = points.get(points.size() - 1);
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("final_step", last.step());
    json.put("training_sec", last.sec());
    json.put("final_mlm_loss_masked", last.loss());
    json.put("final_mlm_accuracy_masked", last.accuracy());
    json.put("final_mlm_loss", last.plainLoss());
    json.put("final_mlm_accuracy", last.plainAccuracy());
    json.put("unigram_loss", curve.get("unigram_loss"));
    json.put("unigram_of", curve.get("unigram_of"));
    int relaxedPoints = (int) points.stream().filter(p -> p.phase().equals("relaxed")).count();
    List<Chart.Marker> markers = new ArrayList<>();
    if (core) {
      // Surgery's checkpoint is the first full point, at the last relaxed step.
      Point before = points.get(relaxedPoints - 1);
      Point after = points.get(relaxedPoints);
      json.put("surgery_step", after.step());
      json.put("before_surgery", before.toJson());
      json.put("after_surgery", after.toJson());
      json.put("switch_jump", after.loss() - before.loss());
      markers.add(new Chart.Marker("surgery, step " + after.step(), after.sec(), 2));
    }
    json.put(
        "training", Jackson.parseObject(CorpusRun.read(dir.resolve(CorpusRun.TRAINING_SUMMARY))));
    json.put("saved_model", dir.resolve(CorpusRun.SAVED_MODEL).toString());
    json.put("hugging_face", dir.resolve(CorpusRun.HUGGING_FACE).toString());
    json.put("report_png", dir.resolve(CorpusRun.REPORT_PNG).toString());
    json.put("settings", s.fingerprint());
    json.put("curve", points.stream().map(Point::toJson).toList());

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
                true),
            new Chart.Line(
                "as written (10% of scored tokens visible)",
                sec,
                points.stream().mapToDouble(Point::plainLoss).toArray(),
                relaxedPoints,
                1,
                false)),
        markers,
        List.of(
            new Chart.Level(
                "unigram model (no context)", ((Number) curve.get("unigram_loss")).doubleValue())));
    Checkpoints.writeAtomically(dir.resolve(CorpusRun.REPORT), Jackson.writePretty(json));
  }
}
