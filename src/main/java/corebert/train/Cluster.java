package corebert.train;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import corebert.model.Precision;
import corebert.util.Jackson;
import java.io.IOException;
import java.lang.ref.Reference;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Server;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ClusterDef;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.JobDef;
import org.tensorflow.proto.ServerDef;
import org.tensorflow.types.TInt64;

/**
 * Several machines on TensorFlow's own distributed runtime: one {@code worker} job of gRPC servers.
 * Every task runs the same command line, differing only in its task index (or the {@code TF_CONFIG}
 * environment variable, as TensorFlow's estimators read it). Two ways to combine the tasks'
 * gradients ({@link AllReduce}).
 *
 * @param workers host:port of every task, in task order
 * @param task this process's index in {@code workers}
 * @param timeoutSec how long a task waits on one step before it gives up on the others (a dead
 *     worker otherwise blocks it for ever)
 * @param gradients the type gradients travel in between the tasks: fp32, or bf16 with collective
 *     all-reduce (half the bytes; see {@link Collective#sumGradient})
 */
public record Cluster(
    List<String> workers, int task, double timeoutSec, AllReduce allReduce, Precision gradients) {
  /** How the tasks' gradients meet. */
  public enum AllReduce {
    /**
     * In-graph replication: task 0 (the chief) builds the whole graph, holds every variable, places
     * each worker's towers on {@code /job:worker/task:i} and runs it through its own server's
     * master; the other tasks only serve. Each worker reads every weight and returns every gradient
     * each step, all through task 0's link: 8 bytes per parameter per worker.
     */
    CHIEF,
    /**
     * Between-graph replication, as MultiWorkerMirroredStrategy: every task builds its own graph
     * with a full replica of the variables, trains on its own input shard, and sums gradients with
     * ring all-reduce ({@link Collective}); the chief's state is broadcast at the start, the chief
     * decides the learning-rate horizon and when a time budget ends, and only the chief writes.
     */
    COLLECTIVE;

    public static AllReduce parse(String s) {
      for (AllReduce a : values()) {
        if (a.name().equalsIgnoreCase(s)) {
          return a;
        }
      }
      throw new IllegalArgumentException(
          "the all-reduce mode must be chief or collective, got '" + s + "'");
    }
  }

  public static final double DEFAULT_TIMEOUT_SEC = 300;

  private static final Logger LOG = Logger.getLogger(Cluster.class.getName());
  public static final String JOB = "worker";

  public Cluster {
    if (workers.isEmpty()) {
      throw new IllegalArgumentException("the cluster has no workers");
    }
    for (String w : workers) {
      if (!w.matches("[^:\\s]+:\\d{1,5}")) {
        throw new IllegalArgumentException("worker address must be host:port, got '" + w + "'");
      }
    }
    if (task < 0 || task >= workers.size()) {
      throw new IllegalArgumentException(
          "task " + task + " is not in the cluster's " + workers.size() + " workers");
    }
    if (!(timeoutSec > 0)) {
      throw new IllegalArgumentException(
          "the worker timeout must be > 0 seconds, got " + timeoutSec);
    }
    if (gradients == Precision.FP16) {
      throw new IllegalArgumentException("the gradient precision must be fp32 or bf16, got fp16");
    }
    if (gradients == Precision.BF16 && allReduce != AllReduce.COLLECTIVE) {
      // Chief-held variables send fp32 weights and gradients through the chief's Send/Recv.
      throw new IllegalArgumentException("bf16 gradients need the collective all-reduce mode");
    }
    workers = List.copyOf(workers);
  }

  public Cluster(List<String> workers, int task, double timeoutSec) {
    this(workers, task, timeoutSec, AllReduce.CHIEF, Precision.FP32);
  }

  public Cluster withAllReduce(AllReduce mode) {
    return new Cluster(workers, task, timeoutSec, mode, gradients);
  }

  public Cluster withGradients(Precision type) {
    return new Cluster(workers, task, timeoutSec, allReduce, type);
  }

  public boolean collective() {
    return allReduce == AllReduce.COLLECTIVE;
  }

  /** From flags: {@code spec} is host:port,host:port,... or {@code {"worker": [...]}}. */
  public static Cluster parse(String spec, String job, int task, double timeoutSec) {
    if (!JOB.equals(job)) {
      throw new IllegalArgumentException(
          "the job must be '" + JOB + "' (the only job), got '" + job + "'");
    }
    String s = spec.trim();
    if (s.startsWith("{")) {
      return new Cluster(workersOf(jobs(s, "the cluster"), "the cluster"), task, timeoutSec);
    }
    return new Cluster(List.of(s.split("\\s*,\\s*")), task, timeoutSec);
  }

  /**
   * TensorFlow's {@code TF_CONFIG}: {"cluster": {"worker": [...]}, "task": {"type", "index"}}; its
   * other keys (environment, rpc_layer, a task's trial) do not concern us.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  record TfConfig(Map<String, List<String>> cluster, TfTask task) {}

  @JsonIgnoreProperties(ignoreUnknown = true)
  record TfTask(String type, Integer index) {}

  /** From TensorFlow's {@code TF_CONFIG}. */
  public static Optional<Cluster> fromTfConfig(String json, double timeoutSec) {
    if (json == null || json.isBlank()) {
      return Optional.empty();
    }
    TfConfig c;
    try {
      c = Jackson.read(json, TfConfig.class);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("TF_CONFIG: " + e.getMessage(), e);
    }
    if (c.cluster() == null || c.task() == null) {
      throw new IllegalArgumentException("TF_CONFIG needs \"cluster\" and \"task\" objects");
    }
    List<String> workers = workersOf(c.cluster(), "TF_CONFIG");
    if (!JOB.equals(c.task().type())) {
      throw new IllegalArgumentException(
          "TF_CONFIG task type must be '" + JOB + "', got " + c.task().type());
    }
    if (c.task().index() == null) {
      throw new IllegalArgumentException("TF_CONFIG task needs an \"index\"");
    }
    return Optional.of(new Cluster(workers, c.task().index(), timeoutSec));
  }

  /** A cluster spec's jobs: job name → its task addresses. */
  private static Map<String, List<String>> jobs(String json, String where) {
    try {
      return Jackson.MAPPER.readValue(json, new TypeReference<Map<String, List<String>>>() {});
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(where + ": " + e.getOriginalMessage(), e);
    }
  }

  private static List<String> workersOf(Map<String, List<String>> cluster, String where) {
    for (String other : cluster.keySet()) {
      if (!other.equals(JOB)) {
        throw new IllegalArgumentException(
            where
                + ": only a \""
                + JOB
                + "\" job is supported (in-graph replication), got \""
                + other
                + "\"");
      }
    }
    List<String> list = cluster.get(JOB);
    if (list == null || list.isEmpty()) {
      throw new IllegalArgumentException(where + " needs a non-empty \"" + JOB + "\" list");
    }
    return list;
  }

  /**
   * Refuses a cluster with a worker outside loopback and private address ranges: TensorFlow's gRPC
   * runtime has no authentication, so anyone who reaches a worker's port can run any graph on it.
   * Names are resolved; a name that does not resolve is refused too.
   */
  public void requireTrustedNetwork() {
    for (String w : workers) {
      String host = w.substring(0, w.lastIndexOf(':'));
      InetAddress[] addresses;
      try {
        addresses = InetAddress.getAllByName(host);
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("cluster worker " + w + ": cannot resolve " + host);
      }
      for (InetAddress a : addresses) {
        if (!isPrivate(a)) {
          throw new IllegalArgumentException(
              "cluster worker "
                  + w
                  + " ("
                  + a.getHostAddress()
                  + ") is outside loopback and private networks; TensorFlow's gRPC runtime has no"
                  + " authentication, so anyone who reaches its port can run code on it. Use a"
                  + " trusted network, and allow public addresses only if it is one");
        }
      }
    }
  }

  /** Loopback, RFC 1918 (10/8, 172.16/12, 192.168/16), link-local, or IPv6 unique-local. */
  static boolean isPrivate(InetAddress a) {
    boolean uniqueLocal = a instanceof Inet6Address && (a.getAddress()[0] & 0xfe) == 0xfc;
    return a.isLoopbackAddress() || a.isSiteLocalAddress() || a.isLinkLocalAddress() || uniqueLocal;
  }

  public boolean isChief() {
    return task == 0;
  }

  /**
   * Starts this task's gRPC server. A port that is taken is reported as such before TensorFlow
   * tries (its own error is a bare "Could not start gRPC server").
   */
  public Server start() {
    String address = workers.get(task);
    int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new InetSocketAddress(port));
    } catch (IOException e) {
      throw new IllegalStateException(
          "cannot serve task " + task + " on " + address + ": port " + port + " is in use");
    }
    JobDef.Builder job = JobDef.newBuilder().setName(JOB);
    for (int i = 0; i < workers.size(); i++) {
      job.putTasks(i, workers.get(i));
    }
    ServerDef def =
        ServerDef.newBuilder()
            .setCluster(ClusterDef.newBuilder().addJob(job))
            .setJobName(JOB)
            .setTaskIndex(task)
            .setProtocol("grpc")
            .setDefaultSessionConfig(collectiveConfig(ConfigProto.newBuilder()))
            .build();
    Server server = new Server(def);
    server.start();
    LOG.info("task " + task + " of " + workers.size() + " serving on " + address);
    return server;
  }

  /**
   * {@code config} with what collectives need: the group leader (in the server's default config
   * too, or group resolution waits for ever). Soft placement as everywhere.
   */
  private ConfigProto.Builder collectiveConfig(ConfigProto.Builder config) {
    config.setAllowSoftPlacement(true);
    if (collective()) {
      config.setExperimental(
          config.getExperimentalBuilder().setCollectiveGroupLeader(Collective.GROUP_LEADER));
    }
    return config;
  }

  /**
   * The config of this task's own session: a step that waits longer than the timeout fails; with
   * collective all-reduce, the group leader, and only this task's devices (its master would
   * otherwise place ops on, and wait for, the other tasks).
   */
  ConfigProto sessionConfig(ConfigProto base) {
    ConfigProto.Builder c =
        collectiveConfig(base.toBuilder()).setOperationTimeoutInMs((long) (timeoutSec * 1000));
    if (collective()) {
      c.addDeviceFilters("/job:" + JOB + "/task:" + task);
    }
    return c.build();
  }

  /**
   * With collective all-reduce: the chief's {@code value} on every task (the others' is ignored),
   * broadcast in a graph of its own. For a decision the chief takes from files only it may have,
   * before the training graphs exist, such as the step at which CoRe's phase 2 began on a resume.
   * Every task must call it at the same point, as with every collective.
   */
  public long fromChief(long value) {
    if (!collective()) {
      throw new IllegalStateException("fromChief needs the collective all-reduce mode");
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Collective c = new Collective(tf, workers.size(), timeoutSec, isChief(), Precision.FP32);
      Operand<TInt64> chiefs = c.fromChief(tf, tf.constant(value));
      try (Session s =
              NativeSessions.open(
                  g, sessionTarget(), sessionConfig(ConfigProto.newBuilder().build()));
          Result r = s.runner().fetch(chiefs).run()) {
        return ((TInt64) r.get(0)).getObject();
      }
    }
  }

  /** The master this task's sessions use: the chief's, or with collective all-reduce its own. */
  public String sessionTarget() {
    return "grpc://" + workers.get(collective() ? task : 0);
  }

  /**
   * A non-chief task: serve until the chief, having been seen, stops answering (it finished or
   * died). TensorFlow cannot shut a server down cleanly, so the process simply exits after this.
   */
  public void serveUntilChiefGone() throws InterruptedException {
    start();
    String[] chief = workers.get(0).split(":");
    boolean seen = false;
    int missed = 0;
    while (!seen || missed < 3) {
      Thread.sleep(1000);
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress(chief[0], Integer.parseInt(chief[1])), 1000);
        seen = true;
        missed = 0;
      } catch (IOException e) {
        missed = seen ? missed + 1 : 0;
      }
    }
    LOG.info("the chief at " + workers.get(0) + " is gone; task " + task + " stops serving");
  }

  /**
   * Runs {@code work} here, or on {@code cluster} with this task's server up until it returns: as
   * its chief, or with collective all-reduce on every task. With chief-held variables any other
   * task serves the chief until it is gone and returns empty.
   */
  public static <R> Optional<R> asChief(Optional<Cluster> cluster, Supplier<R> work)
      throws InterruptedException {
    if (cluster.isPresent() && !cluster.get().isChief() && !cluster.get().collective()) {
      cluster.get().serveUntilChiefGone();
      return Optional.empty();
    }
    Optional<Server> server = cluster.map(Cluster::start);
    R result = work.get();
    Reference.reachabilityFence(server); // this task's master serves until the work ends
    return Optional.of(result);
  }

  /**
   * The cluster as {@code train_config.json} records it: the workers, this task, the mode and the
   * gradients' type between the tasks.
   */
  public record Written(
      List<String> workers, int task, String allReduce, String gradientPrecision) {}

  Written written() {
    return new Written(
        workers, task, allReduce.name().toLowerCase(), gradients.name().toLowerCase());
  }
}
