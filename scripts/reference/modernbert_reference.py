"""Independent float64 reference for Winnow's generated ModernBERT cross-encoders, in torch.

Written from transformers' modeling_modernbert.py (bias-free LayerNorms, no attention norm
on layer 0, rotary with global/local bases, sliding-window local attention of
local_attention // 2 each side, GeGLU, mean or [CLS] pooling, dense+GELU+LayerNorm head),
not from Winnow's graph builder. Same folder layout as qwen_reference.py; prompts.json
holds {"sequences": [[ids...]]}; prints {"logits": [[...], ...]} per unpadded sequence.
"""
import json
import math
import sys

import torch

from qwen_reference import load, rotate_half

torch.set_default_dtype(torch.float64)


def layer_norm(x, weight, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), weight=weight, bias=None, eps=eps)


def gelu(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def forward(c, w, ids):
    H = c["hidden_size"]
    heads = c["num_attention_heads"]
    d = H // heads
    eps = c["norm_eps"]
    n = len(ids)
    x = layer_norm(w["model.embeddings.tok_embeddings.weight"][torch.tensor(ids)], w["model.embeddings.norm.weight"], eps)
    pos = torch.arange(n, dtype=torch.float64)
    window = (pos[:, None] - pos[None, :]).abs() <= c["local_attention"] // 2
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}"
        is_global = layer % c["global_attn_every_n_layers"] == 0
        theta = c["global_rope_theta"] if is_global else c["local_rope_theta"]
        inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        emb = torch.cat((torch.outer(pos, inv_freq),) * 2, dim=-1)
        cos, sin = emb.cos(), emb.sin()
        h = x if layer == 0 else layer_norm(x, w[f"{p}.attn_norm.weight"], eps)
        qkv = (h @ w[f"{p}.attn.Wqkv.weight"]).view(n, 3, heads, d)
        q, k, v = (qkv[:, i].transpose(0, 1) for i in range(3))  # [heads, n, d]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = (q @ k.transpose(1, 2)) / math.sqrt(d)
        if not is_global:
            scores = scores.masked_fill(~window, float("-inf"))
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(n, H)
        x = x + ctx @ w[f"{p}.attn.Wo.weight"]
        inp, gate = (layer_norm(x, w[f"{p}.mlp_norm.weight"], eps) @ w[f"{p}.mlp.Wi.weight"]).chunk(2, dim=-1)
        x = x + (gelu(inp) * gate) @ w[f"{p}.mlp.Wo.weight"]
    x = layer_norm(x, w["model.final_norm.weight"], eps)
    pooled = x[0] if c.get("classifier_pooling") == "cls" else x.mean(dim=0)
    headed = layer_norm(gelu(pooled @ w["head.dense.weight"]), w["head.norm.weight"], eps)
    return (headed @ w["classifier.weight"] + w["classifier.bias"]).tolist()


def main():
    folder = sys.argv[1]
    config, weights = load(folder)
    prompts = json.load(open(f"{folder}/prompts.json"))
    print(json.dumps({"logits": [forward(config, weights, seq) for seq in prompts["sequences"]]}))


if __name__ == "__main__":
    main()
