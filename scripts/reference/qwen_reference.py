"""Independent float64 reference for Winnow's generated Qwen2/Qwen3 decoders, in torch.

Written from transformers' modeling_qwen3.py / modeling_qwen2.py (RMSNorm, rotate_half
rotary, grouped-query attention with repeat_kv, SwiGLU, tied lm_head), not from Winnow's
graph builder. Reads a folder written by test code: config.json, weights.json (name ->
dims, offset, count into weights.f32) and prompts.json ({"sequences": [[ids...]],
"labels": [no_id, yes_id]}); prints JSON {"logits": [[no, yes], ...]} for the last
position of each unpadded sequence. Run with Debian's /usr/bin/python3 (python3-torch).
"""
import json
import math
import sys

import torch

torch.set_default_dtype(torch.float64)


def load(folder):
    config = json.load(open(f"{folder}/config.json"))
    index = json.load(open(f"{folder}/weights.json"))
    raw = open(f"{folder}/weights.f32", "rb").read()
    flat = torch.frombuffer(bytearray(raw), dtype=torch.float32).to(torch.float64)
    weights = {name: flat[e["offset"]:e["offset"] + e["count"]].reshape(e["dims"]) for name, e in index.items()}
    return config, weights


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(config, w, ids, labels):
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv_heads = config["num_key_value_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    eps = config["rms_norm_eps"]
    qwen3 = config["model_type"] == "qwen3"
    n = len(ids)
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]  # [n, H]
    inv_freq = 1.0 / (config["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.outer(torch.arange(n, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    causal = torch.tril(torch.ones(n, n, dtype=torch.bool))

    def linear(t, name):
        # Winnow stores linear weights [in, out] (the MatMul layout of ONNX exports).
        y = t @ w[f"{name}.weight"]
        bias = w.get(f"{name}.bias")
        return y + bias if bias is not None else y

    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}"
        h = rms_norm(x, w[f"{p}.input_layernorm.weight"], eps)
        q = linear(h, f"{p}.self_attn.q_proj").view(n, heads, head_dim)
        k = linear(h, f"{p}.self_attn.k_proj").view(n, kv_heads, head_dim)
        v = linear(h, f"{p}.self_attn.v_proj").view(n, kv_heads, head_dim)
        if qwen3:
            q = rms_norm(q, w[f"{p}.self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[f"{p}.self_attn.k_norm.weight"], eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [heads, n, d]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = heads // kv_heads
        k = k.repeat_interleave(rep, dim=0)
        v = v.repeat_interleave(rep, dim=0)
        scores = (q @ k.transpose(1, 2)) / math.sqrt(head_dim)
        scores = scores.masked_fill(~causal, float("-inf"))
        ctx = torch.softmax(scores, dim=-1) @ v  # [heads, n, d]
        x = x + linear(ctx.transpose(0, 1).reshape(n, heads * head_dim), f"{p}.self_attn.o_proj")
        h = rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], eps)
        gate = linear(h, f"{p}.mlp.gate_proj")
        x = x + linear(torch.nn.functional.silu(gate) * linear(h, f"{p}.mlp.up_proj"), f"{p}.mlp.down_proj")
    last = rms_norm(x[-1], w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"].T if config.get("tie_word_embeddings") else w["lm_head.weight"]
    logits = last @ head
    return [float(logits[i]) for i in labels]


def main():
    folder = sys.argv[1]
    config, weights = load(folder)
    prompts = json.load(open(f"{folder}/prompts.json"))
    out = [forward(config, weights, seq, prompts["labels"]) for seq in prompts["sequences"]]
    print(json.dumps({"logits": out}))


if __name__ == "__main__":
    main()
