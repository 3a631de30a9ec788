package corebert.export;

import static corebert.model.VariableNames.*;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import corebert.model.BertConfig;
import corebert.model.BertModel.Variant;
import corebert.train.ModelRestore;
import corebert.train.PretrainingModel;
import corebert.util.Jackson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * Writes a full BERT as a Hugging Face {@code transformers} model directory that loads with no
 * TensorFlow on the other side: {@code config.json} ({@code BertConfig} keys), {@code
 * model.safetensors}, {@code vocab.txt}, {@code tokenizer_config.json} and {@code
 * special_tokens_map.json}. Names and layouts are those of {@code BertForPreTraining} (or {@code
 * BertForSequenceClassification}): {@code bert/encoder/layer_3/attention/self/query/kernel} [in,
 * out] becomes {@code bert.encoder.layer.3.attention.self.query.weight} [out, in]; LayerNorm's
 * gamma/beta become weight/bias; the MLM output bias is {@code cls.predictions.bias}, and the
 * decoder is tied to the word embeddings, so it is not stored. The folder is written next to its
 * place and moved in when complete.
 */
public final class HuggingFaceExport {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";

  /**
   * transformers' {@code config.json} of a BERT: its architecture, google-research/bert's keys,
   * what transformers needs to read the weights as ours, and a classifier's labels. Configs written
   * by transformers carry many more keys (its version, the dtype, ...), which an import skips.
   */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Config(
      List<String> architectures,
      String modelType,
      @JsonUnwrapped BertConfig.File bert,
      Double layerNormEps,
      Integer padTokenId,
      String positionEmbeddingType,
      Boolean tieWordEmbeddings,
      Integer numLabels,
      Map<String, String> id2label,
      Map<String, Integer> label2id) {}

  /** special_tokens_map.json, and the token half of tokenizer_config.json. */
  private record SpecialTokens(
      String unkToken, String sepToken, String padToken, String clsToken, String maskToken) {
    static final SpecialTokens BERT =
        new SpecialTokens("[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]");
  }

  /** tokenizer_config.json: BERT's WordPiece tokenizer as this model was trained with it. */
  private record TokenizerConfig(
      String tokenizerClass,
      boolean doLowerCase,
      int modelMaxLength,
      @JsonUnwrapped SpecialTokens special) {}

  private HuggingFaceExport() {}

  /** Exports a full-BERT checkpoint, encoder and both pretraining heads, as BertForPreTraining. */
  public static void exportPretraining(
      BertConfig cfg, Path checkpoint, Path vocab, boolean lowerCase, Path outputDir) {
    AtomicDir.requireNew(outputDir);
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      PretrainingModel.buildVariables(tf, cfg, Variant.FULL);
      List<Variable<TFloat32>> vars = ModelRestore.variablesSoFar(graph);
      try (Session session = new Session(graph)) {
        SavedModelExport.restoreFullBert(session, checkpoint);
        write(
            tensors(session, vars),
            config(cfg, "BertForPreTraining", List.of()),
            vocab,
            lowerCase,
            outputDir);
      }
    }
  }

  /**
   * Exports a fine-tuned classifier (the encoder plus run_classifier.py's {@code output_weights}
   * [K, H] and {@code output_bias} [K]) as BertForSequenceClassification.
   */
  public static void exportClassifier(
      BertConfig cfg,
      Session session,
      List<Variable<TFloat32>> vars,
      List<String> labels,
      Path vocab,
      boolean lowerCase,
      Path outputDir) {
    AtomicDir.requireNew(outputDir);
    write(
        tensors(session, vars),
        config(cfg, "BertForSequenceClassification", labels),
        vocab,
        lowerCase,
        outputDir);
  }

  /**
   * The Hugging Face name of one of our variables, e.g. bert.encoder.layer.0.output.dense.weight.
   */
  static String hfName(String name) {
    String[] parts = name.split("/");
    String last = parts[parts.length - 1];
    String suffix =
        switch (last) {
          case KERNEL, GAMMA, OUTPUT_WEIGHTS -> "weight";
          case BIAS, BETA, OUTPUT_BIAS -> "bias";
          case WORD_EMBEDDINGS, POSITION_EMBEDDINGS, TOKEN_TYPE_EMBEDDINGS -> last + ".weight";
          default ->
              throw new IllegalArgumentException("no Hugging Face name for variable " + name);
        };
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < parts.length - 1; i++) {
      sb.append(parts[i].startsWith("layer_") ? "layer." + parts[i].substring(6) : parts[i])
          .append('.');
    }
    if (name.equals(join(CLS, PREDICTIONS, OUTPUT_BIAS))) {
      return "cls.predictions.bias"; // the decoder's bias, shared with cls.predictions.decoder.bias
    }
    if (parts.length == 1) {
      return "classifier." + suffix; // run_classifier.py's head sits at the top level
    }
    return sb + suffix;
  }

  /** Every variable under its Hugging Face name, dense kernels transposed to [out, in]. */
  private static Map<String, SafeTensors.Tensor> tensors(
      Session session, List<Variable<TFloat32>> vars) {
    Session.Runner runner = session.runner();
    vars.forEach(runner::fetch);
    Map<String, SafeTensors.Tensor> out = new LinkedHashMap<>();
    try (Result r = runner.run()) {
      for (int i = 0; i < vars.size(); i++) {
        String name = vars.get(i).op().name();
        TFloat32 t = (TFloat32) r.get(i);
        float[] values = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(values, false, false));
        long[] shape = t.shape().asArray();
        if (name.endsWith("/" + KERNEL)) {
          values = transpose(values, (int) shape[0], (int) shape[1]);
          shape = new long[] {shape[1], shape[0]};
        }
        out.put(hfName(name), new SafeTensors.Tensor(shape, values));
      }
    }
    return out;
  }

  /** Row-major m [rows, cols] as its transpose [cols, rows]. */
  static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < cols; j++) {
        t[j * rows + i] = m[i * cols + j];
      }
    }
    return t;
  }

  /**
   * transformers' config of {@code cfg}; a classifier has {@code labels}, a pretrained BERT none.
   */
  private static Config config(BertConfig cfg, String architecture, List<String> labels) {
    Map<String, String> id2label = new LinkedHashMap<>();
    Map<String, Integer> label2id = new LinkedHashMap<>();
    for (int i = 0; i < labels.size(); i++) {
      id2label.put(String.valueOf(i), labels.get(i));
      label2id.put(labels.get(i), i);
    }
    boolean classifier = !labels.isEmpty();
    return new Config(
        List.of(architecture),
        "bert",
        cfg.bertFields(),
        1e-12, // google-research/bert's, as in our LayerNorm
        0,
        "absolute",
        true,
        classifier ? labels.size() : null,
        classifier ? id2label : null,
        classifier ? label2id : null);
  }

  private static void write(
      Map<String, SafeTensors.Tensor> tensors,
      Config config,
      Path vocab,
      boolean lowerCase,
      Path outputDir) {
    AtomicDir.write(
        outputDir,
        tmp -> {
          Files.createDirectories(tmp);
          SafeTensors.write(tmp.resolve(WEIGHTS), tensors, Map.of("format", "pt"));
          Files.writeString(tmp.resolve(CONFIG), Jackson.writePretty(config));
          Files.copy(vocab, tmp.resolve("vocab.txt"));
          Files.writeString(
              tmp.resolve("special_tokens_map.json"), Jackson.writePretty(SpecialTokens.BERT));
          Files.writeString(
              tmp.resolve("tokenizer_config.json"),
              Jackson.writePretty(
                  new TokenizerConfig(
                      "BertTokenizer",
                      lowerCase,
                      config.bert().maxPositionEmbeddings(),
                      SpecialTokens.BERT)));
        });
  }
}
