package corebert.export;

import corebert.model.BertConfig;
import corebert.model.BertModel;
import corebert.model.BertModel.Variant;
import corebert.model.Endpoints;
import corebert.model.Shapes;
import corebert.model.VariableStore;
import corebert.train.Checkpoints;
import corebert.train.RunDir;
import java.nio.file.Files;
import java.nio.file.Path;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Writes a BERT encoder as a SavedModel: a clean inference graph (no optimizer, no dataset ops,
 * dropout off) with the weights of a full-BERT checkpoint, ours or google-research/bert's, and the
 * signature TF Hub's BERT encoders use. The vocab and config ship in {@code assets/}, so the folder
 * is self-contained. It is written to a temporary folder and moved into place, so a failed export
 * never leaves a folder that looks complete.
 *
 * <p>Signature {@code serving_default}: {@code input_word_ids}, {@code input_mask}, {@code
 * input_type_ids} int32 [B, T] → {@code sequence_output} float [B, T, H], {@code pooled_output}
 * float [B, H]; B and T are dynamic (T ≤ max_position_embeddings).
 */
public final class SavedModelExport {
  public static final String TAG = "serve";

  private SavedModelExport() {}

  /**
   * Exports {@code checkpoint} (a full-BERT prefix) to {@code outputDir}, a new or empty folder.
   */
  public static void export(BertConfig cfg, Path checkpoint, Path vocab, Path outputDir) {
    AtomicDir.requireNew(outputDir);
    try (Graph graph = new Graph()) {
      Signature signature = encoder(Ops.create(graph), cfg.withoutDropout());
      try (Session session = new Session(graph)) {
        session.initialize();
        restoreFullBert(session, checkpoint);
        write(session, signature, cfg, vocab, outputDir);
      }
    }
  }

  /** Restores a full-BERT checkpoint of the session's config, or says why it cannot. */
  static void restoreFullBert(Session session, Path checkpoint) {
    try {
      session.restore(checkpoint.toString());
    } catch (TensorFlowException e) {
      throw new IllegalArgumentException(
          "cannot load a full BERT of this config from "
              + checkpoint
              + " (a relaxed checkpoint must be converted first): "
              + Checkpoints.firstLine(e),
          e);
    }
  }

  /**
   * Writes a session's graph and weights as a SavedModel with one signature, plus the vocab and
   * config in {@code assets/}: into a hidden temporary folder, moved into place when complete.
   */
  public static void write(
      Session session, Signature signature, BertConfig cfg, Path vocab, Path outputDir) {
    AtomicDir.write(
        outputDir,
        tmp -> {
          SavedModelBundle.exporter(tmp.toString())
              .withTags(TAG)
              .withSession(session)
              .withSignature(signature)
              .export();
          Path assets = Files.createDirectories(tmp.resolve("assets"));
          Files.copy(vocab, assets.resolve("vocab.txt"));
          cfg.writeTo(assets.resolve(RunDir.BERT_CONFIG));
        });
  }

  /** The inference graph: placeholders → encoder → the two outputs, as a signature. */
  static Signature encoder(Ops tf, BertConfig cfg) {
    Placeholder<TInt32> ids = input(tf, Endpoints.SERVING_WORD_IDS);
    Placeholder<TInt32> mask = input(tf, Endpoints.SERVING_MASK);
    Placeholder<TInt32> types = input(tf, Endpoints.SERVING_TYPE_IDS);
    BertModel.Outputs out =
        BertModel.build(tf, cfg, Variant.FULL, ids, mask, types, 0, VariableStore.create());
    Operand<TFloat32> sequence =
        tf.reshape(
            out.sequenceOutput(),
            Shapes.dims(
                tf,
                Shapes.dynamicDim(tf, ids, 0),
                Shapes.dynamicDim(tf, ids, 1),
                cfg.hiddenSize())); // [B*T, H] -> [B, T, H]
    return Signature.builder()
        .key(Signature.DEFAULT_KEY)
        .input(Endpoints.SERVING_WORD_IDS, ids)
        .input(Endpoints.SERVING_MASK, mask)
        .input(Endpoints.SERVING_TYPE_IDS, types)
        .output(Endpoints.SEQUENCE_OUTPUT, sequence)
        .output(Endpoints.POOLED_OUTPUT, out.pooledOutput())
        .build();
  }

  private static Placeholder<TInt32> input(Ops tf, String name) {
    return tf.withName(name).placeholder(TInt32.class, Placeholder.shape(Shape.of(-1, -1)));
  }
}
