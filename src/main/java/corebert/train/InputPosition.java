package corebert.train;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TInt64;

/**
 * Where a training run is in its data: the epoch and the records consumed in it. Kept as two
 * variables so that every checkpoint carries them and a resumed run continues at the same record
 * with the same shuffle order.
 */
final class InputPosition {
  static final String SCOPE = "input_position";

  final Variable<TInt64> epoch;
  final Variable<TInt64> records;
  private final Placeholder<TInt64> epochFeed;
  private final Placeholder<TInt64> recordsFeed;
  private final Op set;

  private InputPosition(
      Variable<TInt64> epoch,
      Variable<TInt64> records,
      Placeholder<TInt64> epochFeed,
      Placeholder<TInt64> recordsFeed,
      Op set) {
    this.epoch = epoch;
    this.records = records;
    this.epochFeed = epochFeed;
    this.recordsFeed = recordsFeed;
    this.set = set;
  }

  /** Creates {@code input_position/epoch} and {@code input_position/records_in_epoch}, both 0. */
  static InputPosition build(Ops tf) {
    Ops scope = tf.withSubScope(SCOPE);
    Variable<TInt64> epoch = counter(tf, scope, "epoch");
    Variable<TInt64> records = counter(tf, scope, "records_in_epoch");
    Placeholder<TInt64> epochFeed =
        scope.placeholder(TInt64.class, Placeholder.shape(Shape.scalar()));
    Placeholder<TInt64> recordsFeed =
        scope.placeholder(TInt64.class, Placeholder.shape(Shape.scalar()));
    Op set =
        scope
            .withControlDependencies(
                List.of(scope.assign(epoch, epochFeed), scope.assign(records, recordsFeed)))
            .noOp();
    return new InputPosition(epoch, records, epochFeed, recordsFeed, set);
  }

  /** A position in the data: the epoch, and the records of it consumed. */
  record At(long epoch, long records) {
    At afterBatch(int batchSize) {
      return new At(epoch, records + batchSize);
    }

    At nextEpoch() {
      return new At(epoch + 1, 0);
    }
  }

  /** The position stored in the session's variables (0, 0 for a fresh run). */
  At read(Session session) {
    try (Result r = session.runner().fetch(epoch).fetch(records).run()) {
      return new At(((TInt64) r.get(0)).getLong(), ((TInt64) r.get(1)).getLong());
    }
  }

  void write(Session session, At at) {
    try (TInt64 e = TInt64.scalarOf(at.epoch());
        TInt64 r = TInt64.scalarOf(at.records())) {
      session.runner().feed(epochFeed, e).feed(recordsFeed, r).addTarget(set).run();
    }
  }

  private static Variable<TInt64> counter(Ops tf, Ops scope, String name) {
    Variable<TInt64> v =
        scope.withInitScope().withName(name).variable(Shape.scalar(), TInt64.class);
    Operand<TInt64> zero = tf.withInitScope().constant(0L);
    tf.withInitScope().assign(v, zero);
    return v;
  }
}
