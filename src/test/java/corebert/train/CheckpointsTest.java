package corebert.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.model.VariableNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.StdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

class CheckpointsTest {
  static final float[][] TABLE = {{1.5f, -2f, 0.25f}, {3f, 4.125f, -0.5f}};

  @TempDir Path dir;

  /** A graph with one [2, 3] variable named {@code name}, initialised to {@code initial}. */
  private static Variable<TFloat32> table(Graph graph, String name, float[][] initial) {
    Ops tf = Ops.create(graph);
    String[] parts = name.split("/");
    Ops scope = tf;
    for (int i = 0; i < parts.length - 1; i++) {
      scope = scope.withSubScope(parts[i]);
    }
    Variable<TFloat32> var =
        scope
            .withInitScope()
            .withName(parts[parts.length - 1])
            .variable(Shape.of(2, 3), TFloat32.class);
    tf.withInitScope().assign(var, tf.withInitScope().constant(initial));
    assertEquals(name, var.op().name());
    return var;
  }

  private static float[][] read(Session session, Variable<TFloat32> var) {
    try (Result r = session.runner().fetch(var).run()) {
      return StdArrays.array2dCopyOf((TFloat32) r.get(0));
    }
  }

  private Path saveTable(long step, int keep) {
    try (Graph graph = new Graph()) {
      table(graph, VariableNames.wordEmbeddings(), TABLE);
      try (Session session = new Session(graph)) {
        session.initialize();
        return Checkpoints.save(session, dir, step, keep);
      }
    }
  }

  @Test
  void restoresIntoAFreshGraphUnderTheBertName() {
    Path prefix = saveTable(7, 2);
    assertEquals(dir.resolve("model.ckpt-7"), prefix);
    assertEquals(Optional.of(prefix), Checkpoints.latest(dir));
    assertEquals(7, Checkpoints.stepOf(prefix));
    try (Graph graph = new Graph()) {
      Variable<TFloat32> var = table(graph, "bert/embeddings/word_embeddings", new float[2][3]);
      try (Session session = new Session(graph)) {
        session.restore(prefix.toString());
        float[][] restored = read(session, var);
        for (int i = 0; i < TABLE.length; i++) {
          assertArrayEquals(TABLE[i], restored[i], 0f);
        }
      }
    }
  }

  @Test
  void restoreFailsForAVariableNameNotInTheCheckpoint() {
    Path prefix = saveTable(7, 2);
    try (Graph graph = new Graph()) {
      table(graph, "bert/embeddings/word_embedding", new float[2][3]);
      try (Session session = new Session(graph)) {
        TensorFlowException e =
            assertThrows(TensorFlowException.class, () -> session.restore(prefix.toString()));
        assertTrue(e.getMessage().contains("word_embedding"), e.getMessage());
      }
    }
  }

  @Test
  void keepsTheNewestAndNamesItInTheCheckpointFile() throws Exception {
    saveTable(7, 2);
    saveTable(8, 2);
    Path newest = saveTable(9, 2);
    assertEquals(List.of(8L, 9L), Checkpoints.steps(dir));
    assertFalse(Files.exists(dir.resolve("model.ckpt-7.index")));
    try (Stream<Path> s = Files.list(dir)) {
      assertTrue(
          s.noneMatch(p -> p.getFileName().toString().startsWith("model.ckpt-7.")),
          "step 7 data left behind");
    }
    List<String> index = Files.readAllLines(dir.resolve(Checkpoints.INDEX_FILE));
    assertEquals("model_checkpoint_path: \"model.ckpt-9\"", index.get(0));
    assertTrue(index.contains("all_model_checkpoint_paths: \"model.ckpt-8\""), index.toString());
    assertTrue(index.contains("all_model_checkpoint_paths: \"model.ckpt-9\""), index.toString());
    assertFalse(index.stream().anyMatch(l -> l.contains("ckpt-7")), index.toString());
    assertEquals(Optional.of(newest), Checkpoints.latest(dir));
    assertEquals(newest, Checkpoints.resolve(dir.toString()));
    assertEquals(newest, Checkpoints.resolve(newest + ".index"));
    // No temporary directory survives a successful save.
    try (Stream<Path> s = Files.list(dir)) {
      assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")));
    }
  }

  @Test
  void latestIgnoresTemporaryDirectoriesAndPrefixesWithoutIndex() throws Exception {
    Path good = saveTable(9, 5);
    String dataName;
    try (Stream<Path> s = Files.list(dir)) {
      dataName =
          s.map(p -> p.getFileName().toString())
              .filter(n -> n.startsWith("model.ckpt-9.data-"))
              .findFirst()
              .orElseThrow();
    }
    // A crash mid-save: a complete-looking checkpoint still inside its temporary directory.
    Path tmp = Files.createDirectories(dir.resolve(".tmp-model.ckpt-10"));
    Files.copy(dir.resolve("model.ckpt-9.index"), tmp.resolve("model.ckpt-10.index"));
    Files.copy(dir.resolve(dataName), tmp.resolve(dataName.replace("ckpt-9", "ckpt-10")));
    // A crash mid-move: data moved in, the .index not yet.
    Files.copy(dir.resolve(dataName), dir.resolve(dataName.replace("ckpt-9", "ckpt-11")));
    assertEquals(Optional.of(good), Checkpoints.latest(dir));
    // Even when the checkpoint file names the incomplete prefix, it is not returned.
    Files.writeString(
        dir.resolve(Checkpoints.INDEX_FILE),
        "model_checkpoint_path: \"model.ckpt-11\"\nall_model_checkpoint_paths: \"model.ckpt-11\"\n");
    assertEquals(Optional.of(good), Checkpoints.latest(dir));
    // And without any checkpoint file, the highest complete step wins.
    Files.delete(dir.resolve(Checkpoints.INDEX_FILE));
    assertEquals(Optional.of(good), Checkpoints.latest(dir));
  }

  @Test
  void emptyDirectoryHasNoLatest(@TempDir Path empty) {
    assertEquals(Optional.empty(), Checkpoints.latest(empty));
    assertThrows(IllegalArgumentException.class, () -> Checkpoints.resolve(empty.toString()));
  }
}
