package corebert.train;

import static org.tensorflow.internal.c_api.global.tensorflow.*;

import corebert.model.Precision;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.internal.c_api.TF_DeviceList;
import org.tensorflow.internal.c_api.TF_Graph;
import org.tensorflow.internal.c_api.TF_Session;
import org.tensorflow.internal.c_api.TF_SessionOptions;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.proto.ConfigProto;

/**
 * The two session facts TF Java 1.1.0's public API cannot give: a Session on a remote master
 * ({@code grpc://host:port}, for in-graph replication over TensorFlow's distributed runtime) and
 * the number of local GPUs. Both go through TF's C API; wrapping the native session in a {@link
 * Session} and reading the graph's native handle need reflection, because the constructor and the
 * field are private in 1.1.0. This is the only reflection in corebert.
 */
public final class NativeSessions {
  private static volatile Integer gpus;

  private NativeSessions() {}

  /** A Session whose master is {@code target}; "" is the in-process master. */
  static Session open(Graph graph, String target, ConfigProto config) {
    try (PointerScope scope = new PointerScope()) {
      TF_Session handle = newSession(graph, target, config);
      handle.retainReference(); // the Session owns it from here
      Constructor<Session> c = Session.class.getDeclaredConstructor(Graph.class, TF_Session.class);
      c.setAccessible(true);
      return c.newInstance(graph, handle);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("this TensorFlow Java cannot wrap a remote session", e);
    }
  }

  /** fp16 matmuls have GPU kernels only; refuse them up front rather than at the first step. */
  public static void requireKernels(Precision precision) {
    if (precision == Precision.FP16 && gpuCount() == 0) {
      throw new IllegalArgumentException(
          "fp16 precision needs a GPU (TensorFlow has no CPU kernels for fp16 matmuls); use bf16"
              + " on a CPU");
    }
  }

  /** GPUs TensorFlow sees on this machine (0 with the CPU build). */
  public static int gpuCount() {
    if (gpus == null) {
      try (Graph g = new Graph();
          PointerScope scope = new PointerScope()) {
        TF_Session s = newSession(g, "", ConfigProto.getDefaultInstance());
        TF_Status status = TF_Status.newStatus();
        TF_DeviceList list = TF_SessionListDevices(s, status);
        status.throwExceptionIfNotOK();
        int n = 0;
        for (int i = 0; i < TF_DeviceListCount(list); i++) {
          BytePointer type = TF_DeviceListType(list, i, status);
          status.throwExceptionIfNotOK();
          if (type.getString().equals("GPU")) {
            n++;
          }
        }
        TF_DeleteDeviceList(list);
        gpus = n; // the scope deletes the session
      }
    }
    return gpus;
  }

  /** The graph's C handle, which TF Java keeps private: remote sessions and imports need it. */
  static TF_Graph graphHandle(Graph graph) {
    try {
      Field f = Graph.class.getDeclaredField("nativeHandle");
      f.setAccessible(true);
      return (TF_Graph) f.get(graph);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("this TensorFlow Java hides its graph handle", e);
    }
  }

  private static TF_Session newSession(Graph graph, String target, ConfigProto config) {
    TF_Graph g = graphHandle(graph);
    // Called inside the caller's PointerScope, which frees the options and the status.
    TF_Status status = TF_Status.newStatus();
    TF_SessionOptions opts = TF_SessionOptions.newSessionOptions();
    TF_SetTarget(opts, target);
    BytePointer bytes = new BytePointer(config.toByteArray());
    TF_SetConfig(opts, bytes, bytes.capacity(), status);
    status.throwExceptionIfNotOK();
    TF_Session session = TF_Session.newSession(g, opts, status);
    status.throwExceptionIfNotOK();
    return session;
  }
}
