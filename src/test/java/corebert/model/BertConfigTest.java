package corebert.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import corebert.util.Jackson;
import corebert.util.JsonMaps;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BertConfigTest {
  /** google-research/bert's uncased_L-12_H-768_A-12/bert_config.json, verbatim. */
  static final String BERT_BASE_UNCASED =
      """
      {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": 768,
        "initializer_range": 0.02,
        "intermediate_size": 3072,
        "max_position_embeddings": 512,
        "num_attention_heads": 12,
        "num_hidden_layers": 12,
        "type_vocab_size": 2,
        "vocab_size": 30522
      }
      """;

  @TempDir Path dir;

  @Test
  void loadsGooglesBertBaseConfigUnchanged() throws Exception {
    Path file = dir.resolve("bert_config.json");
    Files.writeString(file, BERT_BASE_UNCASED);
    BertConfig cfg = BertConfig.fromJsonFile(file);
    assertEquals(
        new BertConfig(30522, 768, 12, 12, 3072, "gelu", 0.1, 0.1, 512, 2, 0.02, Optional.empty()),
        cfg);
    assertEquals(64, cfg.headSize());
  }

  @Test
  void parsesRelaxedBlock() {
    String json =
        BERT_BASE_UNCASED.replace(
            "\"vocab_size\": 30522",
            "\"vocab_size\": 30522, \"relaxed\": {\"attention\": \"linear_elu\", \"ffn_rank\": 64}");
    BertConfig cfg = BertConfig.fromJson(json);
    assertEquals(Optional.of(new BertConfig.Relaxed("linear_elu", 64)), cfg.relaxed());
    assertEquals(64, cfg.requireRelaxed().ffnRank());
  }

  @Test
  void refusesHiddenSizeNotDivisibleByHeads() {
    String json =
        BERT_BASE_UNCASED
            .replace("\"hidden_size\": 768", "\"hidden_size\": 30")
            .replace("\"num_attention_heads\": 12", "\"num_attention_heads\": 4");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BertConfig.fromJson(json));
    assertTrue(e.getMessage().contains("30"), e.getMessage());
    assertTrue(e.getMessage().contains("4"), e.getMessage());
    assertTrue(e.getMessage().contains("hidden_size"), e.getMessage());
    assertTrue(e.getMessage().contains("num_attention_heads"), e.getMessage());
  }

  @Test
  void refusesUnknownKeyNamingIt() {
    String json = BERT_BASE_UNCASED.replace("\"vocab_size\"", "\"vocab_sise\": 3, \"vocab_size\"");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BertConfig.fromJson(json));
    assertTrue(e.getMessage().contains("vocab_sise"), e.getMessage());
  }

  @Test
  void refusesUnknownRelaxedKeyNamingIt() {
    String json =
        BERT_BASE_UNCASED.replace(
            "\"vocab_size\": 30522",
            "\"vocab_size\": 30522, \"relaxed\": {\"ffn_rank\": 8, \"rank\": 8}");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> BertConfig.fromJson(json));
    assertTrue(e.getMessage().contains("relaxed.rank"), e.getMessage());
  }

  @Test
  void jsonRoundTripIsEqual() {
    BertConfig plain = BertConfig.fromJson(BERT_BASE_UNCASED);
    assertEquals(plain, BertConfig.fromJson(plain.toJson()));
    BertConfig relaxed =
        new BertConfig(
            100,
            32,
            2,
            2,
            64,
            "relu",
            0.05,
            0.0,
            16,
            2,
            0.03,
            Optional.of(new BertConfig.Relaxed("linear_elu", 4)));
    assertEquals(relaxed, BertConfig.fromJson(relaxed.toJson()));
    // The switch's levers: softmax kept in phase 1, a bound on the Q·K scale.
    BertConfig levers = relaxed.withRelaxed(new BertConfig.Relaxed("softmax", 4, 8, 2.5));
    assertEquals(levers, BertConfig.fromJson(levers.toJson()));
    assertTrue(levers.toJson().contains("\"qk_bound\": 2.5"), levers.toJson());
    assertFalse(levers.requireRelaxed().linearAttention());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> new BertConfig.Relaxed("linear_elu", 4, 0, -1));
    assertTrue(e.getMessage().contains("relaxed.qk_bound must be >= 0"), e.getMessage());
  }

  @Test
  void bertFieldsAreExactlyGoogleResearchsKeysAndValues() {
    BertConfig cfg = BertConfig.fromJson(BERT_BASE_UNCASED);
    assertEquals(
        new TreeMap<>(JsonMaps.parseObject(BERT_BASE_UNCASED)),
        new TreeMap<>(JsonMaps.parseObject(Jackson.write(cfg.bertFields()))));
  }
}
