package corebert.export;

import static corebert.model.VariableNames.*;

import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.CheckpointGraph;
import corebert.train.Checkpoints;
import corebert.train.RunDir;
import corebert.util.Jackson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * Reads a Hugging Face {@code transformers} BERT folder ({@code config.json}, {@code
 * model.safetensors}, {@code vocab.txt}) into a google-research/bert checkpoint with {@code
 * bert_config.json} and {@code vocab.txt}: the inverse of {@link HuggingFaceExport}, so that
 * pretraining, evaluation, fine-tuning and export use it unchanged.
 *
 * <p>It takes {@code BertForPreTraining}'s layout ({@code bert.} and {@code cls.} keys) and a bare
 * {@code BertModel}'s (no prefix, no heads). Heads or a pooler that the folder lacks keep fresh
 * initial values, and the import says so. A model that is not BERT-shaped is refused, naming the
 * key or shape.
 */
public final class HuggingFaceImport {
  private static final Logger LOG = Logger.getLogger(HuggingFaceImport.class.getName());

  /** PyTorch's pickle format, which this reader does not take. */
  static final String PYTORCH_WEIGHTS = "pytorch_model.bin";

  /** Scopes whose weights every import needs: a BERT without them is no BERT. */
  private static final List<String> REQUIRED_SCOPES =
      List.of(BERT + "/" + EMBEDDINGS + "/", BERT + "/" + ENCODER + "/");

  /** config.json keys that must hold these values for the weights to mean a BERT. */
  private static final Map<String, String> REQUIRED =
      Map.of("model_type", "bert", "position_embedding_type", "absolute");

  /**
   * What an import wrote.
   *
   * @param fresh model variables the folder had no weights for, left at their initial values
   */
  public record Imported(Path checkpoint, BertConfig config, List<String> fresh) {}

  private HuggingFaceImport() {}

  /** Whether {@code dir} looks like a Hugging Face model folder: a config.json and weights. */
  public static boolean isModelDir(Path dir) {
    return Files.isDirectory(dir)
        && Files.exists(dir.resolve(HuggingFaceExport.CONFIG))
        && (Files.exists(dir.resolve(HuggingFaceExport.WEIGHTS))
            || Files.exists(dir.resolve(PYTORCH_WEIGHTS)));
  }

  /** Where a run imports a Hugging Face model it starts from, inside its output folder. */
  public static final String IMPORT_DIR = "hf-init";

  /**
   * The checkpoint {@code given} names: a checkpoint prefix or directory as {@link
   * Checkpoints#resolve} takes them, or a Hugging Face model folder, imported into {@code
   * importDir} once (the import is atomic, so a complete one is reused).
   */
  public static Path checkpointOf(Path given, Path importDir) {
    if (!isModelDir(given)) {
      return Checkpoints.resolve(given.toString());
    }
    if (Checkpoints.latest(importDir).isEmpty()) {
      importModel(given, importDir);
    } else {
      LOG.info("using " + importDir + ", imported from " + given + " earlier");
    }
    return Checkpoints.resolve(importDir.toString());
  }

  /** Imports {@code hfDir} into the new or empty folder {@code outputDir}, atomically. */
  public static Imported importModel(Path hfDir, Path outputDir) {
    AtomicDir.requireNew(outputDir);
    BertConfig cfg = config(hfDir.resolve(HuggingFaceExport.CONFIG));
    Path vocab = hfDir.resolve("vocab.txt");
    if (!Files.exists(vocab)) {
      throw new IllegalArgumentException(
          hfDir + " has no vocab.txt: corebert needs BERT's WordPiece vocab file");
    }
    SafeTensors.Reader weights = weights(hfDir);
    List<String> fresh = new ArrayList<>();
    // A bare BertModel's keys lack BertForPreTraining's "bert." prefix.
    String strip = weights.names().stream().anyMatch(n -> n.startsWith("bert.")) ? "" : "bert.";
    try (CheckpointGraph g = CheckpointGraph.build(cfg, Variant.FULL)) {
      copyWeights(g, weights, strip, hfDir, fresh);
      if (!fresh.isEmpty()) {
        LOG.warning(
            hfDir
                + " has no weights for "
                + fresh.size()
                + " variable(s) (a bare BertModel has no pretraining heads); they start fresh: "
                + fresh);
      }
      AtomicDir.write(
          outputDir,
          tmp -> {
            Files.createDirectories(tmp);
            g.save(tmp, 0);
            cfg.writeTo(tmp.resolve(RunDir.BERT_CONFIG));
            Files.copy(vocab, tmp.resolve("vocab.txt"));
          });
    }
    Path checkpoint = outputDir.resolve(Checkpoints.PREFIX + "-0");
    LOG.info(
        "imported "
            + hfDir
            + " ("
            + (strip.isEmpty() ? "BertForPreTraining" : "BertModel")
            + " layout) -> "
            + checkpoint);
    return new Imported(checkpoint, cfg, List.copyOf(fresh));
  }

  /**
   * Writes every variable of {@code g} that {@code weights} has into the graph, in our layout, and
   * lists in {@code fresh} the ones it lacks; a missing encoder or embedding weight is an error.
   */
  private static void copyWeights(
      CheckpointGraph g, SafeTensors.Reader weights, String strip, Path hfDir, List<String> fresh) {
    Map<String, Tensor> values = new LinkedHashMap<>();
    try {
      for (String name : g.modelNames()) {
        Optional<String> key = find(weights, strip, name);
        if (key.isEmpty()) {
          if (REQUIRED_SCOPES.stream().anyMatch(name::startsWith)) {
            throw new IllegalArgumentException(
                hfDir.resolve(HuggingFaceExport.WEIGHTS)
                    + " has no "
                    + candidates(strip, name).get(0)
                    + ", which a BERT of its config.json has");
          }
          fresh.add(name);
          continue;
        }
        values.put(name, ours(weights, key.get(), name, g.shape(name)));
      }
      g.writeAll(values);
    } finally {
      values.values().forEach(Tensor::close);
    }
  }

  /** transformers' BertConfig keys as a BertConfig; anything not BERT-shaped is refused. */
  public static BertConfig config(Path file) {
    try {
      HuggingFaceExport.Config hf =
          Jackson.read(Files.readString(file), HuggingFaceExport.Config.class);
      requireBert("model_type", hf.modelType());
      requireBert("position_embedding_type", hf.positionEmbeddingType());
      if (hf.bert() == null) {
        throw new IllegalArgumentException("no BERT keys (vocab_size, hidden_size, ...)");
      }
      BertConfig cfg = hf.bert().toConfig();
      if (cfg.typeVocabSize() < 2) {
        throw new IllegalArgumentException(
            "type_vocab_size is " + cfg.typeVocabSize() + "; BERT's sentence pairs need 2");
      }
      return cfg;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
  }

  /**
   * A config.json key that must hold BERT's value (or be absent) for the weights to mean a BERT.
   */
  private static void requireBert(String key, String value) {
    String bert = REQUIRED.get(key);
    if (value != null && !value.equals(bert)) {
      throw new IllegalArgumentException(
          key + " is '" + value + "'; corebert imports only BERT ('" + bert + "')");
    }
  }

  private static SafeTensors.Reader weights(Path hfDir) {
    Path file = hfDir.resolve(HuggingFaceExport.WEIGHTS);
    if (!Files.exists(file)) {
      if (Files.exists(hfDir.resolve(PYTORCH_WEIGHTS))) {
        throw new IllegalArgumentException(
            hfDir
                + " has only "
                + PYTORCH_WEIGHTS
                + "; convert it to safetensors first: python -c \"import transformers as t;"
                + " m = t.AutoModel.from_pretrained('"
                + hfDir
                + "'); m.save_pretrained('"
                + hfDir
                + "', safe_serialization=True)\"");
      }
      throw new IllegalArgumentException(hfDir + " has no " + HuggingFaceExport.WEIGHTS);
    }
    try {
      return SafeTensors.Reader.open(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  /**
   * The key under which {@code weights} holds our variable {@code name}, trying the names
   * transformers has used for it.
   */
  private static Optional<String> find(SafeTensors.Reader weights, String strip, String name) {
    return candidates(strip, name).stream().filter(weights::has).findFirst();
  }

  /**
   * Hugging Face names of our variable: {@link HuggingFaceExport#hfName}, without {@code bert.} in
   * a bare BertModel, with LayerNorm's older gamma/beta, and the decoder's bias under both names.
   */
  static List<String> candidates(String strip, String name) {
    String hf = HuggingFaceExport.hfName(name);
    if (!strip.isEmpty() && hf.startsWith(strip)) {
      hf = hf.substring(strip.length());
    }
    List<String> names = new ArrayList<>(List.of(hf));
    if (hf.endsWith("LayerNorm.weight")) {
      names.add(hf.replace("LayerNorm.weight", "LayerNorm.gamma"));
    } else if (hf.endsWith("LayerNorm.bias")) {
      names.add(hf.replace("LayerNorm.bias", "LayerNorm.beta"));
    } else if (hf.equals("cls.predictions.bias")) {
      names.add("cls.predictions.decoder.bias");
    }
    return names;
  }

  /** The tensor under {@code key} in our layout: dense kernels back to [in, out]. */
  private static TFloat32 ours(SafeTensors.Reader weights, String key, String name, Shape shape) {
    long[] expected = shape.asArray();
    boolean kernel = name.endsWith("/" + KERNEL);
    long[] theirs = kernel ? new long[] {expected[1], expected[0]} : expected;
    if (!Arrays.equals(weights.shape(key), theirs)) {
      throw new IllegalArgumentException(
          key
              + " has shape "
              + Arrays.toString(weights.shape(key))
              + ", but config.json makes it "
              + Arrays.toString(theirs));
    }
    float[] v = weights.tensor(key).values();
    if (kernel) {
      v = HuggingFaceExport.transpose(v, (int) theirs[0], (int) theirs[1]);
    }
    return TFloat32.tensorOf(shape, DataBuffers.of(v, false, false));
  }
}
