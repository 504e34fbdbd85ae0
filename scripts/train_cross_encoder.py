#!/usr/bin/env python3
"""Trains a BERT cross-encoder from scratch on tokenized query-document groups.

Called by scripts/train-cross-encoder.ts, which prepares the data (SciFact *train*
queries, their judged documents, BM25 negatives, tokenized with the generated model's
tokenizer) and turns the weights this writes into an ONNX model folder with Winnow's own
graph builder. Needs only Debian's python3-torch (1.13) and python3-numpy.

Why from scratch: no model hub is reachable here, so no pre-trained checkpoint exists.
The point is a model whose weights and logits have the statistics of a trained network
(large, input-dependent logit spread, LayerNorm gains away from 1), to check int8
fidelity on something other than random weights. It is not meant to rank well.

The network is written out so that its parameters carry Hugging Face's names and its
arithmetic is exactly what src/onnx/bert-graph.ts builds (post-LayerNorm BERT, exact
GELU, additive mask bias, tanh pooler on [CLS], linear classifier).

Input  (--data): JSON lines {"ids": [[...] x G], "types": [[...] x G]}; row 0 is relevant.
Output (--out):  weights.bin (float32, little-endian, concatenated) and weights.json
                 [{"name", "dims", "offset"}], linear weights stored [in, out];
                 reference.json: the trained model's logits (eval mode) for the first
                 groups, which the caller checks the ONNX graph against.
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, hidden, heads, intermediate, eps, dropout):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attn_out = nn.Linear(hidden, hidden)
        self.attn_ln = nn.LayerNorm(hidden, eps=eps)
        self.inter = nn.Linear(hidden, intermediate)
        self.out = nn.Linear(intermediate, hidden)
        self.out_ln = nn.LayerNorm(hidden, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask_bias):
        b, s, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(b, s, self.heads, d).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask_bias
        probs = self.drop(torch.softmax(scores, dim=-1))
        ctx = (probs @ v).transpose(1, 2).reshape(b, s, h)
        x = self.attn_ln(self.drop(self.attn_out(ctx)) + x)
        y = self.out(F.gelu(self.inter(x)))  # exact (erf) GELU, as the ONNX graph
        return self.out_ln(self.drop(y) + x)


class CrossEncoder(nn.Module):
    def __init__(self, c, dropout):
        super().__init__()
        H = c["hidden"]
        self.word = nn.Embedding(c["vocab_size"], H)
        self.pos = nn.Embedding(c["max_position_embeddings"], H)
        self.token_type = nn.Embedding(2, H)
        self.emb_ln = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.layers = nn.ModuleList(
            [Layer(H, c["heads"], c["intermediate"], c["layer_norm_eps"], dropout) for _ in range(c["layers"])]
        )
        self.pooler = nn.Linear(H, H)
        self.classifier = nn.Linear(H, c["num_labels"])
        self.drop = nn.Dropout(dropout)
        # Hugging Face's BERT initialisation (initializer_range 0.02).
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)
        with torch.no_grad():
            self.word.weight[c["pad_token_id"]].zero_()

    def forward(self, ids, types, mask):
        positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.drop(self.emb_ln(self.word(ids) + self.token_type(types) + self.pos(positions)))
        mask_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask_bias)
        return self.classifier(self.drop(torch.tanh(self.pooler(x[:, 0]))))

    def hf_state(self):
        """Parameters under Hugging Face's names; linear weights transposed to [in, out]."""
        out = {}
        lin = lambda name, m: out.update({f"{name}.weight": m.weight.detach().t(), f"{name}.bias": m.bias.detach()})
        ln = lambda name, m: out.update({f"{name}.weight": m.weight.detach(), f"{name}.bias": m.bias.detach()})
        out["bert.embeddings.word_embeddings.weight"] = self.word.weight.detach()
        out["bert.embeddings.position_embeddings.weight"] = self.pos.weight.detach()
        out["bert.embeddings.token_type_embeddings.weight"] = self.token_type.weight.detach()
        ln("bert.embeddings.LayerNorm", self.emb_ln)
        for i, l in enumerate(self.layers):
            p = f"bert.encoder.layer.{i}"
            lin(f"{p}.attention.self.query", l.query)
            lin(f"{p}.attention.self.key", l.key)
            lin(f"{p}.attention.self.value", l.value)
            lin(f"{p}.attention.output.dense", l.attn_out)
            ln(f"{p}.attention.output.LayerNorm", l.attn_ln)
            lin(f"{p}.intermediate.dense", l.inter)
            lin(f"{p}.output.dense", l.out)
            ln(f"{p}.output.LayerNorm", l.out_ln)
        lin("bert.pooler.dense", self.pooler)
        lin("classifier", self.classifier)
        return out


def pad(rows, pad_id):
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--config", required=True, help="JSON: layers, hidden, heads, intermediate, vocab_size, ...")
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--groups-per-step", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    random.seed(a.seed)
    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        config = json.load(f)
    with open(a.data) as f:
        groups = [json.loads(line) for line in f if line.strip()]
    model = CrossEncoder(config, a.dropout)
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=a.lr)
    warmup = max(1, a.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warmup, max(0.0, (a.steps - s) / (a.steps - warmup))))

    order = []
    started = time.time()
    model.train()
    for step in range(a.steps):
        if len(order) < a.groups_per_step:
            order += random.sample(range(len(groups)), len(groups))
        batch = [groups[order.pop()] for _ in range(a.groups_per_step)]
        size = len(batch[0]["ids"])
        ids, mask = pad([r for g in batch for r in g["ids"]], config["pad_token_id"])
        types, _ = pad([r for g in batch for r in g["types"]], 0)
        logits = model(ids, types, mask)[:, 0].view(len(batch), size)
        # Listwise softmax cross-entropy: the relevant document (row 0) against its negatives.
        loss = F.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 10 == 0 or step == a.steps - 1:
            acc = (logits.argmax(dim=1) == 0).float().mean().item()
            spread = logits.detach().std().item()
            print(
                json.dumps({"step": step, "loss": round(loss.item(), 4), "top1": round(acc, 3), "logit_std": round(spread, 3),
                            "seconds": round(time.time() - started, 1)}),
                flush=True,
            )

    os.makedirs(a.out, exist_ok=True)
    manifest, offset = [], 0
    tmp = os.path.join(a.out, "weights.bin.tmp")
    with open(tmp, "wb") as f:
        for name, t in model.hf_state().items():
            data = np.ascontiguousarray(t.numpy().astype("<f4"))
            f.write(data.tobytes())
            manifest.append({"name": name, "dims": list(data.shape), "offset": offset})
            offset += data.nbytes
    os.replace(tmp, os.path.join(a.out, "weights.bin"))
    with open(os.path.join(a.out, "weights.json.tmp"), "w") as f:
        json.dump(manifest, f)
    os.replace(os.path.join(a.out, "weights.json.tmp"), os.path.join(a.out, "weights.json"))

    model.eval()
    reference = []
    with torch.no_grad():
        for g in groups[:4]:
            ids, mask = pad(g["ids"], config["pad_token_id"])
            types, _ = pad(g["types"], 0)
            reference.append({"ids": g["ids"], "types": g["types"], "logits": model(ids, types, mask)[:, 0].tolist()})
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(reference, f)


if __name__ == "__main__":
    main()
