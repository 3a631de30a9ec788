#!/usr/bin/env python3
"""A BERT forward pass in numpy alone, on a Hugging Face model directory that corebert exported.

    bert_reference.py MODEL_DIR < inputs.json > outputs.json

MODEL_DIR holds config.json and model.safetensors with transformers' BertForPreTraining or
BertForSequenceClassification names and layouts (Linear weights [out, in]). inputs.json is
{"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]]}. The output is
{"sequence_output": [B][T][H], "pooled_output": [B][H]} plus "logits" [B][K] for a classifier.

The safetensors file is read by its published layout (an 8-byte little-endian header length, a
JSON header with dtype, shape and data offsets, then the data), with no safetensors, torch or
TensorFlow package, so it checks both the file format and the attention maths from outside the
JVM. Everything is computed in float64.
"""
import json
import math
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[base + begin:base + end], dtype="<f4")
        tensors[name] = array.reshape(entry["shape"]).astype(np.float64)
    return tensors


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def linear(w, prefix, x):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def bert(w, cfg, ids, mask, types):
    batch, seq = ids.shape
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    size = hidden // heads
    eps = cfg.get("layer_norm_eps", 1e-12)
    x = (w["bert.embeddings.word_embeddings.weight"][ids]
         + w["bert.embeddings.position_embeddings.weight"][:seq][None, :, :]
         + w["bert.embeddings.token_type_embeddings.weight"][types])
    x = layer_norm(x, w["bert.embeddings.LayerNorm.weight"], w["bert.embeddings.LayerNorm.bias"], eps)
    adder = (1.0 - mask[:, None, None, :]) * -10000.0  # [B, 1, 1, T]: padded keys get ~0 weight

    def split(t):  # [B, T, H] -> [B, N, T, D]
        return t.reshape(batch, seq, heads, size).transpose(0, 2, 1, 3)

    for i in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{i}."
        q = split(linear(w, p + "attention.self.query", x))
        k = split(linear(w, p + "attention.self.key", x))
        v = split(linear(w, p + "attention.self.value", x))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + adder
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        attended = layer_norm(linear(w, p + "attention.output.dense", context) + x,
                              w[p + "attention.output.LayerNorm.weight"],
                              w[p + "attention.output.LayerNorm.bias"], eps)
        inner = gelu(linear(w, p + "intermediate.dense", attended))
        x = layer_norm(linear(w, p + "output.dense", inner) + attended,
                       w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    pooled = np.tanh(linear(w, "bert.pooler.dense", x[:, 0]))
    return x, pooled


def main():
    model_dir = sys.argv[1]
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    w = load_safetensors(f"{model_dir}/model.safetensors")
    inputs = json.load(sys.stdin)
    ids = np.array(inputs["input_ids"])
    mask = np.array(inputs["attention_mask"], dtype=np.float64)
    types = np.array(inputs["token_type_ids"])
    sequence, pooled = bert(w, cfg, ids, mask, types)
    out = {"sequence_output": sequence.tolist(), "pooled_output": pooled.tolist()}
    if "classifier.weight" in w:
        out["logits"] = linear(w, "classifier", pooled).tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
