package corebert.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.data.InputPipeline;
import corebert.data.PretrainingSchema;
import corebert.data.TfRecordWriter;
import corebert.data.TrainingInstance;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Server;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TFOutOfRangeException;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * On a cluster each worker reads its own input shard, on its own task: two worker servers on
 * loopback read disjoint records whose union is the epoch, by file and, with fewer files than
 * workers, by record.
 */
class ShardedInputTest {
  private static final int SEQ = 8;
  private static final int PRED = 3;
  private static final int SHARD_BATCH = 2;

  @TempDir Path dir;

  /** Files of {@code sizes} records; record k has token 10 + k after [CLS]. */
  private List<Path> write(int... sizes) {
    List<Path> files = new ArrayList<>();
    int k = 0;
    for (int f = 0; f < sizes.length; f++) {
      Path file = dir.resolve("part-" + f + "-of-" + sizes.length + ".tfrecord");
      try (TfRecordWriter writer = new TfRecordWriter(file)) {
        for (int i = 0; i < sizes[f]; i++, k++) {
          TrainingInstance inst =
              new TrainingInstance(
                  new int[] {2, 10 + k, 3, 20, 3},
                  new int[] {0, 0, 0, 1, 1},
                  new int[] {1},
                  new int[] {10 + k},
                  false);
          writer.write(PretrainingSchema.toExample(inst, SEQ, PRED).toByteArray());
        }
      }
      files.add(file);
    }
    return files;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void twoWorkersReadDisjointShardsWhoseUnionIsTheEpoch() throws Exception {
    Cluster c0 = new Cluster(List.of("localhost:" + freePort(), "localhost:" + freePort()), 0, 30);
    Cluster c1 = new Cluster(c0.workers(), 1, 30);
    Server s0 = c0.start();
    Server s1 = c1.start();
    try {
      // 4 files of 4 records: worker 0 reads files 0 and 2, worker 1 files 1 and 3.
      assertShardsCoverTheEpoch(c0, write(4, 4, 4, 4), 16);
      // 1 file of 8 records: each worker reads every second record.
      assertShardsCoverTheEpoch(c0, write(8), 8);
    } finally {
      java.lang.ref.Reference.reachabilityFence(s0);
      java.lang.ref.Reference.reachabilityFence(s1);
    }
  }

  private void assertShardsCoverTheEpoch(Cluster cluster, List<Path> files, int records) {
    Parallelism p = new Parallelism(1, 1, Optional.of(cluster));
    assertEquals(2, p.inputShards());
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<InputPipeline.Pipeline> shards = new ArrayList<>();
      for (int s = 0; s < 2; s++) {
        shards.add(
            InputPipeline.build(
                tf.withDevice(p.inputDevice(s).orElseThrow()),
                files,
                SHARD_BATCH,
                SEQ,
                PRED,
                true,
                4,
                new InputPipeline.Shard(s, 2)));
      }
      try (Session session =
          NativeSessions.open(g, cluster.sessionTarget(), PretrainingGraph.sessionConfig(false))) {
        try (TInt64 seed = TInt64.scalarOf(7L)) {
          Session.Runner init = session.runner();
          shards.forEach(in -> init.feed(in.shuffleSeed(), seed).addTarget(in.init()));
          init.run();
        }
        List<Set<Integer>> read = List.of(new HashSet<>(), new HashSet<>());
        Set<String> devices = new HashSet<>();
        boolean traced = false;
        while (true) {
          Session.Runner step = session.runner();
          shards.forEach(in -> step.fetch(in.batch().inputIds()));
          if (!traced) {
            step.setOptions(
                RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build());
          }
          try (Result r = traced ? step.run() : step.runAndFetchMetadata()) {
            if (!traced) {
              devices.addAll(iteratorDevices(r));
              traced = true;
            }
            for (int s = 0; s < 2; s++) {
              TInt32 ids = (TInt32) r.get(s);
              for (int row = 0; row < SHARD_BATCH; row++) {
                assertTrue(read.get(s).add(ids.getInt(row, 1) - 10), "a record read twice");
              }
            }
          } catch (TFOutOfRangeException endOfEpoch) {
            break;
          }
        }
        Set<Integer> union = new HashSet<>(read.get(0));
        union.addAll(read.get(1));
        assertEquals(read.get(0).size() + read.get(1).size(), union.size(), "shards overlap");
        assertEquals(records, union.size(), "the shards' union is the epoch: " + read);
        assertTrue(
            devices.equals(Set.of("input_shard_0@task:0", "input_shard_1@task:1")),
            "each shard's iterator runs on its own task: " + devices);
      }
    }
  }

  /** "scope@task:i" for every IteratorGetNext the traced step ran. */
  private static Set<String> iteratorDevices(Result r) {
    Set<String> out = new HashSet<>();
    for (DeviceStepStats d : r.getMetadata().orElseThrow().getStepStats().getDevStatsList()) {
      for (NodeExecStats n : d.getNodeStatsList()) {
        if (n.getNodeName().endsWith("IteratorGetNext")) {
          String task = d.getDevice().replaceAll(".*/(task:\\d+)/.*", "$1");
          out.add(n.getNodeName().substring(0, n.getNodeName().indexOf('/')) + "@" + task);
        }
      }
    }
    return out;
  }
}
