package corebert.bench;

import corebert.train.HeldOutCurve.Point;
import java.util.List;

/**
 * A finished benchmark run as the store keeps it: its setting (a baseline's {@code learningRate},
 * or CoRe's {@code core} setting), what it did, and its held-out curve. A CoRe run also keeps its
 * switch: the step, the seconds surgery and phase 2's setup took, the masked held-out loss right
 * after surgery minus right before ({@code switchJump}), and per layer the norm of Wq·Wkᵀ. {@code
 * machine} is where it trained (null in runs stored before it was recorded): wall-clock budgets
 * compare only between machines of one kind.
 */
record RunResult(
    String setting,
    long seed,
    String started,
    long steps,
    double wallSec,
    Machine.Facts machine,
    Double learningRate,
    CoreVsBaseline.CoreSetting core,
    Long surgeryStep,
    Double surgerySec,
    Double switchSec,
    Double switchJump,
    List<Double> qkNormPerLayer,
    List<Point> curve) {
  RunResult {
    curve = List.copyOf(curve);
  }

  /** A from-scratch baseline's result: no CoRe setting and no switch. */
  static RunResult baseline(
      String setting,
      long seed,
      String started,
      long steps,
      double wallSec,
      Machine.Facts machine,
      double learningRate,
      List<Point> curve) {
    return new RunResult(
        setting,
        seed,
        started,
        steps,
        wallSec,
        machine,
        learningRate,
        null,
        null,
        null,
        null,
        null,
        null,
        curve);
  }

  Point last() {
    return curve.get(curve.size() - 1);
  }
}
