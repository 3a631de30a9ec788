#!/usr/bin/env python3
"""Q·K scale per layer of models exported with `corebert export --format huggingface`.

Softmax attention's logits are x Wq^T Wk x^T (HF's [out, in] layout, biases aside), so the
spectral norm of Wq^T Wk says how sharp it can be; linear attention (elu+1, normalised) hardly
depends on that scale. Usage: qk_scale.py DIR [DIR...]
"""
import json
import struct
import sys

import numpy as np


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype="<f4").reshape(v["shape"])
            for k, v in header.items() if k != "__metadata__"}


for d in sys.argv[1:]:
    w = load(d + "/model.safetensors")
    layers = json.load(open(d + "/config.json"))["num_hidden_layers"]
    print(d)
    for l in range(layers):
        q = w[f"bert.encoder.layer.{l}.attention.self.query.weight"]
        k = w[f"bert.encoder.layer.{l}.attention.self.key.weight"]
        print(f"  layer {l}: |Wq|_F {np.linalg.norm(q):5.1f}  |Wk|_F {np.linalg.norm(k):5.1f}  "
              f"|Wq^T Wk|_2 {np.linalg.norm(q.T @ k, 2):5.1f}")
