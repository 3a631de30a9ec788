package corebert.train;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Output;
import org.tensorflow.internal.c_api.TF_Buffer;
import org.tensorflow.internal.c_api.TF_ImportGraphDefOptions;
import org.tensorflow.internal.c_api.TF_ImportGraphDefResults;
import org.tensorflow.internal.c_api.TF_Output;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.internal.c_api.global.tensorflow;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;

/**
 * Gradients whose ops run on a chosen device: a tower's backward pass on that tower's device.
 *
 * <p>{@link Graph#addGradients} creates its ops without a device, so TF's placer puts them all on
 * the first device of the first task: on several GPUs or workers most of the backward pass would
 * run in one place. TF Java cannot change an op's device once it exists, so the gradients are built
 * in a scratch copy of the graph, their NodeDefs get the tower's device, and they are imported into
 * the real graph with their inputs mapped onto the forward ops already there.
 */
final class TowerGradients {
  private TowerGradients() {}

  /**
   * d y / d xs under the name scope {@code prefix}, every new op placed on {@code device}. Same
   * values as {@code graph.addGradients(y, xs)}.
   */
  static Output<?>[] add(Graph graph, String prefix, String device, Output<?> y, Output<?>[] xs) {
    GraphDef gradients;
    List<String> outputNames = new ArrayList<>();
    try (Graph scratch = new Graph()) {
      scratch.importGraphDef(graph.toGraphDef());
      Output<?>[] sxs = new Output<?>[xs.length];
      for (int i = 0; i < xs.length; i++) {
        sxs[i] = scratch.outputOrThrow(name(xs[i]));
      }
      Output<?>[] grads =
          scratch.addGradients(prefix, new Output<?>[] {scratch.outputOrThrow(name(y))}, sxs, null);
      for (Output<?> g : grads) {
        outputNames.add(name(g));
      }
      gradients = newNodes(scratch.toGraphDef(), prefix + "/", device);
    }
    importInto(graph, gradients);
    Output<?>[] out = new Output<?>[outputNames.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = graph.outputOrThrow(outputNames.get(i));
    }
    return out;
  }

  /** "op:index", as NodeDef inputs and {@link Graph#outputOrThrow} name a tensor. */
  private static String name(Output<?> o) {
    return o.op().name() + ":" + o.index();
  }

  /**
   * The nodes under {@code prefix}, each placed on {@code device}. Their colocation constraints
   * ({@code _class}, which names forward ops outside the set) go: the device says it all.
   */
  private static GraphDef newNodes(GraphDef all, String prefix, String device) {
    GraphDef.Builder b = GraphDef.newBuilder().setVersions(all.getVersions());
    for (NodeDef n : all.getNodeList()) {
      if (n.getName().startsWith(prefix)) {
        b.addNode(n.toBuilder().setDevice(device).removeAttr("_class"));
      }
    }
    return b.build();
  }

  /**
   * Imports {@code nodes} into {@code graph} under their own names; every input they take from
   * outside themselves (data or control) is mapped onto the op of that name already in the graph.
   */
  private static void importInto(Graph graph, GraphDef nodes) {
    Set<String> inside = new HashSet<>();
    nodes.getNodeList().forEach(n -> inside.add(n.getName()));
    TF_ImportGraphDefOptions options = TF_ImportGraphDefOptions.newImportGraphDefOptions();
    TF_Status status = TF_Status.newStatus();
    TF_Buffer buffer = TF_Buffer.newBufferFromString(nodes);
    try {
      Set<String> mapped = new HashSet<>();
      for (NodeDef n : nodes.getNodeList()) {
        for (String input : n.getInputList()) {
          boolean control = input.startsWith("^");
          String tensor = control ? input.substring(1) : input;
          int colon = tensor.lastIndexOf(':');
          String op = colon < 0 ? tensor : tensor.substring(0, colon);
          int index = colon < 0 ? 0 : Integer.parseInt(tensor.substring(colon + 1));
          // "op" and "op:0" name the same tensor: map each (kind, op, index) once.
          if (inside.contains(op) || !mapped.add((control ? "^" : "") + op + ":" + index)) {
            continue;
          }
          GraphOperation existing = graph.operationOrThrow(op);
          if (control) {
            tensorflow.TF_ImportGraphDefOptionsRemapControlDependency(
                options, op, existing.getUnsafeNativeHandle());
          } else {
            TF_Output source = new TF_Output().oper(existing.getUnsafeNativeHandle()).index(index);
            tensorflow.TF_ImportGraphDefOptionsAddInputMapping(options, op, index, source);
          }
        }
      }
      TF_ImportGraphDefResults results =
          tensorflow.TF_GraphImportGraphDefWithResults(
              NativeSessions.graphHandle(graph), buffer, options, status);
      status.throwExceptionIfNotOK();
      tensorflow.TF_DeleteImportGraphDefResults(results);
    } finally {
      buffer.delete();
      status.delete();
      options.delete();
    }
  }
}
