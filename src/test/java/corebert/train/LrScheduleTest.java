package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

class LrScheduleTest {
  static final LrSchedule SCHEDULE = new LrSchedule(1e-4, 0, 10, 100);

  @Test
  void hostScheduleWarmsUpThenDecaysLinearly() {
    assertEquals(1e-5, SCHEDULE.at(0), 1e-12); // first of 10 warm-up steps: peak/10
    assertEquals(5e-5, SCHEDULE.at(4), 1e-12);
    assertEquals(1e-4, SCHEDULE.at(9), 1e-12); // last warm-up step reaches the peak
    assertEquals(9e-5, SCHEDULE.at(10), 1e-12); // first decay step: peak * (1 - 10/100)
    assertEquals(5e-5, SCHEDULE.at(50), 1e-12); // middle
    assertEquals(1e-6, SCHEDULE.at(99), 1e-12); // last step: peak * 1/100
    assertEquals(0.0, SCHEDULE.at(100), 0.0);
    assertEquals(0.0, SCHEDULE.at(1000), 0.0);
  }

  @Test
  void startStepShiftsTheSchedule() {
    LrSchedule phase2 = new LrSchedule(2e-4, 1000, 4, 20);
    assertEquals(5e-5, phase2.at(1000), 1e-12);
    assertEquals(2e-4, phase2.at(1003), 1e-12);
    assertEquals(2e-4 * (1 - 10 / 20.0), phase2.at(1010), 1e-12);
    assertEquals(0.0, phase2.at(1020), 0.0);
  }

  @Test
  void rejectsNonsense() {
    assertThrows(IllegalArgumentException.class, () -> new LrSchedule(0, 0, 1, 10));
    assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-4, 0, -1, 10));
    assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-4, 0, 1, 0));
  }

  @Test
  void graphScheduleAgreesWithHost() {
    long[] steps = {0, 4, 9, 10, 37, 50, 99, 100, 150};
    for (LrSchedule s :
        new LrSchedule[] {
          SCHEDULE, new LrSchedule(3e-4, 500, 0, 40), new LrSchedule(2e-4, 1000, 4, 20)
        }) {
      try (Graph graph = new Graph()) {
        Ops tf = Ops.create(graph);
        Placeholder<TInt64> step = tf.placeholder(TInt64.class, Placeholder.shape(Shape.scalar()));
        Operand<TFloat32> lr = s.build(tf, step);
        try (Session session = new Session(graph)) {
          for (long raw : steps) {
            long global = raw + s.startStep();
            try (TInt64 feed = TInt64.scalarOf(global);
                Result r = session.runner().feed(step, feed).fetch(lr).run()) {
              float graphLr = ((TFloat32) r.get(0)).getFloat();
              assertEquals(s.at(global), graphLr, 1e-6 * s.peak(), s + " at step " + global);
            }
          }
        }
      }
    }
  }

  @Test
  void graphDecayLengthCanBeFed() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Operand<TFloat32> lr = SCHEDULE.build(tf, tf.constant(50L));
      try (Session session = new Session(graph);
          TFloat32 total = TFloat32.scalarOf(200f);
          Result r = session.runner().feed(LrSchedule.TOTAL_STEPS_FEED, total).fetch(lr).run()) {
        assertEquals(
            new LrSchedule(1e-4, 0, 10, 200).at(50), ((TFloat32) r.get(0)).getFloat(), 1e-10);
      }
    }
  }
}
