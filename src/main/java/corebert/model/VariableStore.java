package corebert.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The model's variables in the order the builders ask for them, so that a second copy of the same
 * model (a data-parallel tower or an accumulation step) reuses the first copy's variables instead
 * of creating its own. Replicas are built under their own name scope, so names cannot be the key;
 * the build order, checked against the last name component and the shape, is. The store also says
 * how the model computes with its float32 variables: in which {@link Precision}, whether the query,
 * key and value projections run as one fused matmul, and whether a full model's attention blends
 * linear attention into softmax (CoRe's blended start of phase 2).
 */
public final class VariableStore {
  private final List<Variable<TFloat32>> created;
  private final boolean replaying;
  private final Precision precision;
  private final boolean fusedQkv;
  private final Optional<Operand<TFloat32>> softmaxShare;
  private int next;

  private VariableStore(
      List<Variable<TFloat32>> created,
      boolean replaying,
      Precision precision,
      boolean fusedQkv,
      Optional<Operand<TFloat32>> softmaxShare) {
    this.created = created;
    this.replaying = replaying;
    this.precision = precision;
    this.fusedQkv = fusedQkv;
    this.softmaxShare = softmaxShare;
  }

  /** A store that creates every variable asked for: the first (or only) replica, in float32. */
  public static VariableStore create() {
    return create(Precision.FP32);
  }

  /** As {@link #create()}, with the model's matmuls computed in {@code precision}. */
  public static VariableStore create(Precision precision) {
    return create(precision, true);
  }

  /**
   * As {@link #create(Precision)}; {@code fusedQkv} false builds the query, key and value
   * projections as three matmuls (the same maths; benchmarks and tests compare the two).
   */
  public static VariableStore create(Precision precision, boolean fusedQkv) {
    return new VariableStore(new ArrayList<>(), false, precision, fusedQkv, Optional.empty());
  }

  /**
   * This store, for a full model whose attention is (1 − m)·linear + m·softmax over the same
   * queries, keys and values, with {@code m} a float scalar in [0, 1]: at m = 0 the converted model
   * computes what the relaxed one did, at m = 1 it is BERT. No variable is added.
   */
  public VariableStore withSoftmaxShare(Operand<TFloat32> m) {
    if (next > 0 || !created.isEmpty()) {
      throw new IllegalStateException("the softmax share must be set before the model is built");
    }
    return new VariableStore(created, replaying, precision, fusedQkv, Optional.of(m));
  }

  /** A store that hands out this store's variables again, in creation order: a further replica. */
  public VariableStore replay() {
    return new VariableStore(created, true, precision, fusedQkv, softmaxShare);
  }

  /** The type the model's matmuls read these (float32) variables in. */
  Precision precision() {
    return precision;
  }

  /** The share m of softmax in a blended attention; empty: the variant's own attention. */
  Optional<Operand<TFloat32>> softmaxShare() {
    return softmaxShare;
  }

  /** Whether Q, K and V are computed by one matmul over the concatenated kernels. */
  boolean fusedQkv() {
    return fusedQkv;
  }

  Variable<TFloat32> get(String name, Shape shape, Supplier<Variable<TFloat32>> create) {
    if (!replaying) {
      Variable<TFloat32> v = create.get();
      created.add(v);
      return v;
    }
    if (next >= created.size()) {
      throw new IllegalStateException(
          "a replica asks for more variables than the first one built: " + name);
    }
    Variable<TFloat32> v = created.get(next++);
    if (!v.op().name().endsWith("/" + name) && !v.op().name().equals(name)
        || !v.shape().equals(shape)) {
      throw new IllegalStateException(
          "replica variable "
              + name
              + " "
              + shape
              + " does not match "
              + v.op().name()
              + " "
              + v.shape());
    }
    return v;
  }
}
