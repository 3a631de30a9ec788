package corebert.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.train.Restore;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * Loads chosen variables by name from any TF checkpoint (ours or google-research/bert's) into a
 * graph whose other variables keep their values: pretrained weights under a new head or a fresh
 * optimizer. Every variable whose stored shape differs is listed in one error before anything is
 * assigned.
 */
public final class ModelRestore {
  private final List<Variable<TFloat32>> vars;
  private final Placeholder<TString> prefix;
  private final List<Output<?>> values;
  private final Op assign;

  private ModelRestore(
      List<Variable<TFloat32>> vars,
      Placeholder<TString> prefix,
      List<Output<?>> values,
      Op assign) {
    this.vars = vars;
    this.prefix = prefix;
    this.values = values;
    this.assign = assign;
  }

  /** Every VariableV2 op of a graph so far, of any type, in creation order. */
  static List<GraphOperation> variableOps(Graph graph) {
    List<GraphOperation> ops = new ArrayList<>();
    graph
        .operations()
        .forEachRemaining(
            op -> {
              if (op.type().equals("VariableV2")) {
                ops.add(op);
              }
            });
    return ops;
  }

  /**
   * The float VariableV2 ops of a graph so far, in creation order: called right after the model is
   * built, before optimizer slots and counters exist, these are exactly the model's weights (a
   * training graph's int64 step may already exist).
   */
  public static List<Variable<TFloat32>> variablesSoFar(Graph graph) {
    List<Variable<TFloat32>> vars = new ArrayList<>();
    for (GraphOperation op : variableOps(graph)) {
      if (TFloat32.class.equals(op.output(0).type())) {
        vars.add(new Variable<>(op));
      }
    }
    return vars;
  }

  /** Builds RestoreV2 of {@code vars} by name plus their assignments; run it with {@link #run}. */
  public static ModelRestore build(Ops tf, List<Variable<TFloat32>> vars) {
    Ops r = tf.withSubScope("init_from_checkpoint");
    Placeholder<TString> prefix =
        r.withName("prefix").placeholder(TString.class, Placeholder.shape(Shape.scalar()));
    String[] names = vars.stream().map(v -> v.op().name()).toArray(String[]::new);
    String[] slices = new String[names.length];
    Arrays.fill(slices, "");
    List<Class<? extends TType>> types = new ArrayList<>();
    vars.forEach(v -> types.add(TFloat32.class));
    Restore restored =
        r.train.restore(
            prefix,
            r.constant(NdArrays.vectorOfObjects(names)),
            r.constant(NdArrays.vectorOfObjects(slices)),
            types);
    List<Output<?>> values = new ArrayList<>();
    List<Op> assigns = new ArrayList<>();
    for (int i = 0; i < vars.size(); i++) {
      @SuppressWarnings("unchecked")
      Operand<TFloat32> value = (Operand<TFloat32>) restored.tensors().get(i);
      values.add(value.asOutput());
      assigns.add(r.assign(vars.get(i), value));
    }
    return new ModelRestore(vars, prefix, values, r.withControlDependencies(assigns).noOp());
  }

  /** Reads the checkpoint, checks every shape, then assigns. */
  public void run(Session session, Path checkpoint) {
    try (TString p = TString.scalarOf(checkpoint.toString())) {
      Session.Runner read = session.runner().feed(prefix, p);
      values.forEach(read::fetch);
      List<String> mismatches = new ArrayList<>();
      try (Result r = read.run()) {
        for (int i = 0; i < vars.size(); i++) {
          Shape want = vars.get(i).shape();
          Shape have = r.get(i).shape();
          if (!want.equals(have)) {
            mismatches.add(vars.get(i).op().name() + " " + have + " (model " + want + ")");
          }
        }
      } catch (TensorFlowException e) {
        throw new IllegalArgumentException(
            "cannot restore the model from " + checkpoint + ": " + Checkpoints.firstLine(e), e);
      }
      if (!mismatches.isEmpty()) {
        throw new IllegalArgumentException(
            checkpoint
                + ": "
                + mismatches.size()
                + " variable(s) have other shapes than the model: "
                + String.join(", ", mismatches));
      }
      session.runner().feed(prefix, p).addTarget(assign).run();
    }
  }
}
