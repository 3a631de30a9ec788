package corebert.train;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.model.VariableNames;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Exactly the variables of a pretraining checkpoint (model, optimizer slots, global step, input
 * position, loss scale) with no data pipeline, plus a placeholder-fed assign for each: what graph
 * surgery reads a checkpoint into and writes a new one from. The model is built on small
 * placeholders only to create its variables under their real names.
 */
public final class CheckpointGraph implements AutoCloseable {
  private final Graph graph;
  private final Session session;

  /** Every variable by name, in creation order: model variables, then slots, then the step. */
  private final Map<String, Output<?>> variables;

  /** The model's own variables (no slots, no step), in creation order. */
  private final List<String> modelNames;

  private final Map<String, Placeholder<?>> feeds;
  private final Map<String, Op> assigns;

  private CheckpointGraph(
      Graph graph,
      Map<String, Output<?>> variables,
      List<String> modelNames,
      Map<String, Placeholder<?>> feeds,
      Map<String, Op> assigns) {
    this.graph = graph;
    this.variables = variables;
    this.modelNames = modelNames;
    this.feeds = feeds;
    this.assigns = assigns;
    this.session = new Session(graph);
  }

  /** Builds the variables of a {@code variant} checkpoint and initialises them. */
  public static CheckpointGraph build(BertConfig cfg, Variant variant) {
    Graph graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      PretrainingModel.buildVariables(tf, cfg, variant);
      Map<String, Output<?>> vars = new LinkedHashMap<>();
      List<Variable<TFloat32>> model = ModelRestore.variablesSoFar(graph);
      for (Variable<TFloat32> v : model) {
        vars.put(v.op().name(), v.asOutput());
      }
      for (Variable<TFloat32> v : model) {
        for (String slot : List.of(VariableNames.ADAM_M, VariableNames.ADAM_V)) {
          Output<TFloat32> s = AdamWeightDecay.slot(tf, graph, v.op().name(), slot, v.shape());
          vars.put(s.op().name(), s);
        }
      }
      Variable<TInt64> step = PretrainingModel.globalStep(tf);
      vars.put(step.op().name(), step.asOutput());
      InputPosition position = InputPosition.build(tf);
      vars.put(position.epoch.op().name(), position.epoch.asOutput());
      vars.put(position.records.op().name(), position.records.asOutput());
      AdamWeightDecay.LossScale lossScale = AdamWeightDecay.LossScale.build(tf, false);
      vars.put(lossScale.scale().op().name(), lossScale.scale().asOutput());
      vars.put(lossScale.goodSteps().op().name(), lossScale.goodSteps().asOutput());

      Map<String, Placeholder<?>> feeds = new LinkedHashMap<>();
      Map<String, Op> assigns = new LinkedHashMap<>();
      Ops set = tf.withSubScope("set");
      for (Map.Entry<String, Output<?>> e : vars.entrySet()) {
        feeds.put(e.getKey(), placeholderLike(set, e.getValue()));
        assigns.put(e.getKey(), assign(set, e.getValue(), feeds.get(e.getKey())));
      }
      List<String> modelNames = model.stream().map(v -> v.op().name()).toList();
      CheckpointGraph g = new CheckpointGraph(graph, vars, modelNames, feeds, assigns);
      g.session.initialize();
      return g;
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** Names of the model's variables: no optimizer slots, no step. */
  public List<String> modelNames() {
    return modelNames;
  }

  /** Names of every variable, model variables first. */
  public List<String> names() {
    return List.copyOf(variables.keySet());
  }

  /** Whether a variable holds float32 weights (not the step or the input position). */
  public boolean isFloat(String name) {
    return variable(name).type() == TFloat32.class;
  }

  public Shape shape(String name) {
    return variable(name).shape();
  }

  /** Restores every variable from a checkpoint prefix. */
  public void restore(String prefix) {
    session.restore(prefix);
  }

  /** Fetches the values of {@code names}, in order; the caller closes the Result. */
  public Result read(List<String> names) {
    Session.Runner runner = session.runner();
    names.forEach(n -> runner.fetch(variable(n)));
    return runner.run();
  }

  /** The float variables {@code names}, copied to the host, in order. */
  public Map<String, float[]> readFloats(List<String> names) {
    Map<String, float[]> values = new LinkedHashMap<>();
    try (Result r = read(names)) {
      for (int i = 0; i < names.size(); i++) {
        TFloat32 t = (TFloat32) r.get(i);
        float[] v = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(v, false, false));
        values.put(names.get(i), v);
      }
    }
    return values;
  }

  /** Overwrites one variable. */
  public void write(String name, Tensor value) {
    writeAll(Map.of(name, value));
  }

  /** Overwrites several variables in one session run. */
  public void writeAll(Map<String, Tensor> values) {
    Session.Runner runner = session.runner();
    values.forEach(
        (name, value) -> runner.feed(feeds.get(name), value).addTarget(assigns.get(name)));
    runner.run();
  }

  /** Saves all variables as {@code dir/model.ckpt-<step>}. */
  public Path save(Path dir, long step) {
    return Checkpoints.save(session, dir, step, Integer.MAX_VALUE);
  }

  private Output<?> variable(String name) {
    Output<?> v = variables.get(name);
    if (v == null) {
      throw new IllegalArgumentException("no variable '" + name + "' in the checkpoint graph");
    }
    return v;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Placeholder<?> placeholderLike(Ops tf, Output<?> v) {
    return tf.placeholder((Class) v.type(), Placeholder.shape(v.shape()));
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Op assign(Ops tf, Output<?> v, Operand<?> value) {
    return tf.assign((Operand) v, (Operand) value);
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
