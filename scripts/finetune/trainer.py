#!/usr/bin/env python3
"""Winnow's cross-encoder trainer (`winnow finetune`), protocol version 1.

Driven from Node (src/finetune/trainer-process.ts) over files and JSON lines; the
protocol is documented in docs/finetune.md. Needs only Python 3 and PyTorch (Debian's
python3-torch, which brings numpy): no pip packages. Nothing else in Winnow uses Python.

    python3 trainer.py JOB.json

JOB.json names the mode ("train", "forward" or "roundtrip"), the architecture (from the
model's config.json), the initial weights (safetensors under the model's own Hugging Face
parameter names, torch layout), the tensors in (raw little-endian files described by a
JSON header), the hyper-parameters and the output folder. Progress goes to stdout as one
JSON object per line ({"event": ...}); a refusal is {"event": "error", "message"} and
exit status 2.

The network is written out module by module so that its state_dict keys are exactly the
Hugging Face names (bert.encoder.layer.0.attention.self.query.weight, ...) and its
arithmetic is what src/onnx/bert-graph.ts builds: post-LayerNorm BERT / XLM-R, exact
(erf) GELU, additive mask bias of finfo(float32).min, tanh head on [CLS].
"""
import hashlib
import json
import math
import os
import struct
import sys
import time

PROTOCOL = 1


class Refusal(Exception):
    """Bad input the caller can fix: reported as one line, exit status 2."""


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as err:  # the Node side checks first; this is the last line of defence
    emit("error", message=f"PyTorch is not importable by {sys.executable} ({err}): apt-get install python3-torch")
    sys.exit(2)

if sys.byteorder != "little":
    emit("error", message="the tensor files are little-endian; this machine is big-endian")
    sys.exit(2)

# ---------------------------------------------------------------- safetensors (struct + torch)

SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    """name -> tensor (as stored), and the metadata; the format is 8 bytes of header length, JSON, data."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise Refusal(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", raw)
        if n > 100_000_000:
            raise Refusal(f"{path}: safetensors header of {n} bytes (limit 100000000)")
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dtype = SAFETENSORS_DTYPES.get(info["dtype"])
        if dtype is None:
            raise Refusal(f"{path}: tensor {name} has dtype {info['dtype']} (supported: {', '.join(SAFETENSORS_DTYPES)})")
        begin, end = info["data_offsets"]
        t = torch.frombuffer(data, dtype=dtype, count=(end - begin) // torch.tensor([], dtype=dtype).element_size(), offset=begin) if end > begin else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors, metadata


def write_safetensors(path, tensors, metadata):
    """Written under a temp name, fsynced and renamed: a kill never leaves half a file."""
    header, offset, chunks = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # data starts 8-byte aligned, as the spec allows
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in chunks:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------- tensors in

RAW_DTYPES = {"int32": torch.int32, "int64": torch.int64, "uint8": torch.uint8, "float32": torch.float32}


def read_tensor_set(header_path):
    """A JSON header {"protocol", "kind", "tensors": {name: {"file", "dtype", "shape"}}} over raw files beside it."""
    with open(header_path) as f:
        header = json.load(f)
    if header.get("protocol") != PROTOCOL:
        raise Refusal(f"{header_path}: protocol {header.get('protocol')}, this trainer speaks {PROTOCOL}")
    base = os.path.dirname(header_path)
    out = {}
    for name, info in header["tensors"].items():
        dtype = RAW_DTYPES[info["dtype"]]
        path = os.path.join(base, info["file"])
        count = math.prod(info["shape"])
        size = os.path.getsize(path)
        want = count * torch.tensor([], dtype=dtype).element_size()
        if size != want:
            raise Refusal(f"{path}: {size} bytes, header says {info['shape']} {info['dtype']} ({want} bytes)")
        with open(path, "rb") as f:
            data = bytearray(f.read())
        out[name] = (torch.frombuffer(data, dtype=dtype) if count > 0 else torch.empty(0, dtype=dtype)).reshape(info["shape"])
    return header, out


class Rows:
    """Packed token rows: ids/types concatenated, row i = [offsets[i], offsets[i+1])."""

    def __init__(self, t):
        self.ids = t["input_ids"].to(torch.long)
        self.types = t["token_type_ids"].to(torch.long)
        self.offsets = t["row_offsets"].tolist()
        self.lengths = [self.offsets[i + 1] - self.offsets[i] for i in range(len(self.offsets) - 1)]

    def __len__(self):
        return len(self.lengths)

    def batch(self, rows, pad_id):
        width = max(self.lengths[r] for r in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        types = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            a, b = self.offsets[r], self.offsets[r + 1]
            ids[i, : b - a] = self.ids[a:b]
            types[i, : b - a] = self.types[a:b]
            mask[i, : b - a] = 1
        return ids, types, mask


# ---------------------------------------------------------------- the network, under Hugging Face's names


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden"]
        self.heads = c["heads"]
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.dropout = nn.Dropout(c["attention_dropout"])

    def forward(self, x, mask_bias):
        b, s, h = x.shape
        d = h // self.heads
        split = lambda t: t.view(b, s, self.heads, d).transpose(1, 2)
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        probs = self.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + mask_bias, dim=-1))
        return (probs @ v).transpose(1, 2).reshape(b, s, h)


class DenseNorm(nn.Module):
    """`dense` then dropout, residual, `LayerNorm`: BertSelfOutput and BertOutput."""

    def __init__(self, n_in, c):
        super().__init__()
        self.dense = nn.Linear(n_in, c["hidden"])
        self.LayerNorm = nn.LayerNorm(c["hidden"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c["hidden"], c)

    def forward(self, x, mask_bias):
        return self.output(self.self(x, mask_bias), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["intermediate"])

    def forward(self, x):
        return F.gelu(self.dense(x))  # exact (erf) GELU, as the ONNX graph


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c["intermediate"], c)

    def forward(self, x, mask_bias):
        a = self.attention(x, mask_bias)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["layers"])])


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden"]
        self.roberta = c["family"] == "xlmr"
        self.pad_id = c["pad_token_id"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], H)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout"])

    def forward(self, ids, types):
        if self.roberta:
            # create_position_ids_from_input_ids: non-padding tokens count from padding_idx + 1.
            not_pad = (ids != self.pad_id).long()
            positions = torch.cumsum(not_pad, dim=1) * not_pad + self.pad_id
            types = torch.zeros_like(ids)
        else:
            positions = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.word_embeddings(ids) + self.token_type_embeddings(types) + self.position_embeddings(positions)
        return self.dropout(self.LayerNorm(x))


class Trunk(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        if c["family"] == "bert":
            self.pooler = nn.Module()
            self.pooler.dense = nn.Linear(c["hidden"], c["hidden"])

    def forward(self, ids, types, mask):
        x = self.embeddings(ids, types)
        mask_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.encoder.layer:
            x = layer(x, mask_bias)
        return x


class RobertaHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden"], c["hidden"])
        self.out_proj = nn.Linear(c["hidden"], c["num_labels"])
        self.dropout = nn.Dropout(c["hidden_dropout"])

    def forward(self, cls):
        return self.out_proj(self.dropout(torch.tanh(self.dense(self.dropout(cls)))))


class CrossEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.family = c["family"]
        self.num_labels = c["num_labels"]
        if self.family == "bert":
            self.bert = Trunk(c)
            self.classifier = nn.Linear(c["hidden"], c["num_labels"])
            self.dropout = nn.Dropout(c["hidden_dropout"])
        else:
            self.roberta = Trunk(c)
            self.classifier = RobertaHead(c)

    def forward(self, ids, types, mask):
        """One relevance score per row: the logit, or logit[1] - logit[0] for two-label heads (as the reranker reads them)."""
        if self.family == "bert":
            x = self.bert(ids, types, mask)
            logits = self.classifier(self.dropout(torch.tanh(self.bert.pooler.dense(x[:, 0]))))
        else:
            logits = self.classifier(self.roberta(ids, types, mask)[:, 0])
        return logits[:, 0] if self.num_labels == 1 else logits[:, 1] - logits[:, 0]


def load_weights(model, path):
    """Loads the caller's weights, checked tensor by tensor (the Node side checked them too)."""
    tensors, _ = read_safetensors(path)
    own = model.state_dict()
    missing = [n for n in own if n not in tensors]
    if missing:
        raise Refusal(f"{path}: {len(missing)} weights missing, first {missing[0]}")
    for name, t in own.items():
        got = tensors[name]
        if list(got.shape) != list(t.shape):
            raise Refusal(f"{path}: {name} has shape {list(got.shape)}, the architecture needs {list(t.shape)}")
    model.load_state_dict({n: tensors[n].to(torch.float32) for n in own}, strict=True)


def hf_state(model):
    return {n: t.detach().clone() for n, t in model.state_dict().items()}


# ---------------------------------------------------------------- losses


def group_loss(kind, scores, labels, teacher, margin):
    """scores/labels/teacher: [groups, G]; row 0 of each group is its positive."""
    if kind == "pointwise":
        # Graded BCE: target = grade / the highest grade in the data (1 for binary labels).
        return F.binary_cross_entropy_with_logits(scores, labels)
    if kind == "listwise":
        return F.cross_entropy(scores, torch.zeros(scores.shape[0], dtype=torch.long))
    if kind == "margin-mse":
        return F.mse_loss(scores[:, :1] - scores[:, 1:], teacher[:, :1] - teacher[:, 1:])
    # Pairwise over every ordered pair (i, j) in the group with label_i > label_j.
    diff = scores[:, :, None] - scores[:, None, :]
    better = (labels[:, :, None] > labels[:, None, :]).float()
    pairs = better.sum().clamp(min=1)
    if kind == "ranknet":
        return (F.softplus(-diff) * better).sum() / pairs
    if kind == "margin":
        return (F.relu(margin - diff) * better).sum() / pairs
    raise Refusal(f"unknown loss {kind!r}")


# ---------------------------------------------------------------- batches by tokens


def epoch_plan(group_lengths, group_size, batch_tokens, accumulate, seed, epoch):
    """Optimizer steps of one epoch: each a list of micro-batches (lists of group indices).

    Deterministic in (seed, epoch), so a resumed run continues exactly where the killed one stopped.
    A micro-batch takes groups while groups × group size × its longest row stays within batch_tokens.
    """
    g = torch.Generator()
    g.manual_seed(seed * 1000003 + epoch)
    order = torch.randperm(len(group_lengths), generator=g).tolist()
    micro, current, longest = [], [], 0
    for gi in order:
        width = max(longest, group_lengths[gi])
        if current and (len(current) + 1) * group_size * width > batch_tokens:
            micro.append(current)
            current, width = [], group_lengths[gi]
        current.append(gi)
        longest = width
    if current:
        micro.append(current)
    return [micro[i : i + accumulate] for i in range(0, len(micro), accumulate)]


def training_plan(group_lengths, group_size, h):
    steps, epoch = [], 0
    while True:
        if h.get("epochs") is not None and epoch >= h["epochs"]:
            break
        if h.get("steps") is not None and len(steps) >= h["steps"]:
            break
        steps += [(epoch, s) for s in epoch_plan(group_lengths, group_size, h["batch_tokens"], h["accumulate"], h["seed"], epoch)]
        epoch += 1
    if h.get("steps") is not None:
        steps = steps[: h["steps"]]
    return steps


# ---------------------------------------------------------------- validation


@torch.no_grad()
def score_rows(model, rows, pad_id, batch_tokens):
    was_training = model.training
    model.eval()
    order = sorted(range(len(rows)), key=lambda r: rows.lengths[r])  # similar lengths pad less
    out = torch.empty(len(rows))
    i = 0
    while i < len(order):
        j = i + 1
        while j < len(order) and (j - i + 1) * rows.lengths[order[j]] <= batch_tokens:
            j += 1
        chunk = order[i:j]
        out[chunk] = model(*rows.batch(chunk, pad_id))
        i = j
    model.train(was_training)
    return out


def ndcg_at_10(scores, labels, query_offsets, ideal):
    """Mean nDCG@10 of each query's candidates ordered by score (gain = grade, log2 discount, trec_eval's ideal)."""
    total, n = 0.0, 0
    for q in range(len(query_offsets) - 1):
        a, b = query_offsets[q], query_offsets[q + 1]
        if ideal[q] <= 0:
            continue
        order = sorted(range(a, b), key=lambda r: (-float(scores[r]), r))[:10]
        dcg = sum(float(labels[r]) / math.log2(rank + 2) for rank, r in enumerate(order))
        total += dcg / ideal[q]
        n += 1
    return total / n if n else 0.0


# ---------------------------------------------------------------- checkpoints


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(folder, fingerprint, state):
    """state.pt then checkpoint.json (its sha256), each atomic: the json names only a complete state."""
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"state.pt.tmp-{os.getpid()}")
    torch.save(state, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    # A previous state.pt stays named by the old checkpoint.json until the new one lands.
    name = f"state-{state['step']}.pt"
    os.replace(tmp, os.path.join(folder, name))
    meta = {"protocol": PROTOCOL, "step": state["step"], "file": name, "sha256": sha256_file(os.path.join(folder, name)), "fingerprint": fingerprint}
    with open(os.path.join(folder, "checkpoint.json.tmp"), "w") as f:
        json.dump(meta, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(os.path.join(folder, "checkpoint.json.tmp"), os.path.join(folder, "checkpoint.json"))
    for other in os.listdir(folder):
        if other.startswith("state-") and other != name:
            os.remove(os.path.join(folder, other))


def load_checkpoint(folder, fingerprint):
    meta_path = os.path.join(folder, "checkpoint.json")
    if not os.path.exists(meta_path):
        return None
    with open(meta_path) as f:
        meta = json.load(f)
    if meta.get("fingerprint") != fingerprint:
        raise Refusal(f"{meta_path}: the checkpoint is of another run (other data, model or options); remove {folder} to start afresh")
    path = os.path.join(folder, meta["file"])
    if not os.path.exists(path) or sha256_file(path) != meta["sha256"]:
        raise Refusal(f"{path}: missing or its sha256 does not match {meta_path}; remove {folder} to start afresh")
    return torch.load(path)


# ---------------------------------------------------------------- modes


def architecture(job):
    c = dict(job["architecture"])
    c.setdefault("attention_dropout", job.get("hyper", {}).get("dropout", 0.1))
    c.setdefault("hidden_dropout", job.get("hyper", {}).get("dropout", 0.1))
    if c["family"] not in ("bert", "xlmr"):
        raise Refusal(f"architecture family {c['family']!r} has no trainer module (bert, xlmr)")
    return c


def build_model(job, seed):
    torch.manual_seed(seed)
    model = CrossEncoder(architecture(job))
    load_weights(model, job["init"])
    return model


def run_forward(job):
    """Scores rows in eval mode; the parity test compares them with the ONNX graph's."""
    model = build_model(job, 0)
    _, t = read_tensor_set(job["rows"])
    rows = Rows(t)
    scores = score_rows(model, rows, job["architecture"]["pad_token_id"], 1 << 14)
    os.makedirs(job["out"], exist_ok=True)
    with open(os.path.join(job["out"], "scores.f32"), "wb") as f:
        f.write(scores.to(torch.float32).numpy().tobytes())
    emit("done", rows=len(rows))


def run_roundtrip(job):
    """Loads the weights into the network and writes them back out, untrained."""
    model = build_model(job, 0)
    os.makedirs(job["out"], exist_ok=True)
    write_safetensors(os.path.join(job["out"], "model.safetensors"), hf_state(model), {"format": "pt", "winnow_trainer_protocol": PROTOCOL})
    emit("done")


def run_train(job):
    h = job["hyper"]
    torch.set_num_threads(max(1, int(h.get("threads") or os.cpu_count() or 1)))
    model = build_model(job, h["seed"])
    pad_id = job["architecture"]["pad_token_id"]
    header, t = read_tensor_set(job["train"])
    G = header["group_size"]
    rows = Rows(t)
    if len(rows) % G:
        raise Refusal(f"{job['train']}: {len(rows)} rows is not a whole number of groups of {G}")
    labels = t["labels"].to(torch.float32).view(-1, G)
    teacher = t["teacher"].to(torch.float32).view(-1, G)
    if h["loss"] == "margin-mse" and torch.isnan(teacher).any():
        raise Refusal(f"{job['train']}: margin-mse needs a teacher score on every row")
    if h["loss"] == "pointwise":
        labels = labels / max(1.0, float(labels.max()))
    n_groups = labels.shape[0]
    group_lengths = [max(rows.lengths[g * G + i] for i in range(G)) for g in range(n_groups)]
    plan = training_plan(group_lengths, G, h)
    total = len(plan)
    steps_per_epoch = len(epoch_plan(group_lengths, G, h["batch_tokens"], h["accumulate"], h["seed"], 0))
    if total == 0:
        raise Refusal("the plan has no steps (no training groups, or steps/epochs 0)")

    validation = None
    if job.get("validation"):
        vh, vt = read_tensor_set(job["validation"])
        validation = (Rows(vt), vt["labels"].tolist(), vt["query_offsets"].tolist(), vt["ideal_dcg"].tolist())

    def validate():
        vr, vl, vq, vi = validation
        return ndcg_at_10(score_rows(model, vr, pad_id, h["batch_tokens"] * 2), vl, vq, vi)

    decay = [p for n, p in model.named_parameters() if p.dim() > 1 and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() > 1 and "LayerNorm" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": h["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}], lr=h["lr"], foreach=True)
    # warmup_steps below 1 is a fraction of the planned steps (the default 0.1).
    w = h["warmup_steps"]
    warmup = max(1, min(total, round(w * total) if w < 1 else int(w)))
    # Linear warm-up to lr, then linear decay to 0 at the last step.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))

    fingerprint = job["fingerprint"]
    state = {"step": 0, "losses": [], "validation": [], "best": None, "best_step": None, "best_state": None, "bad_evals": 0, "seconds": 0.0}
    resumed_from = None
    if job.get("checkpoint") and job.get("resume"):
        saved = load_checkpoint(job["checkpoint"], fingerprint)
        if saved is not None:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            sched.load_state_dict(saved["scheduler"])
            torch.set_rng_state(saved["rng"])
            state = saved["run"]
            resumed_from = state["step"]

    emit("start", protocol=PROTOCOL, total_steps=total, steps_per_epoch=steps_per_epoch, groups=n_groups, group_size=G, rows=len(rows),
         parameters=sum(p.numel() for p in model.parameters()), resumed_from=resumed_from, threads=torch.get_num_threads())
    if validation is not None and not state["validation"]:
        v = validate()
        state["validation"].append({"step": 0, "ndcg10": v})
        emit("validation", step=0, ndcg10=v)

    eval_every = h.get("eval_every") or max(1, total // 10)
    checkpoint_every = h.get("checkpoint_every") or 0
    started = time.time() - state["seconds"]
    stopped_early = False
    model.train()
    while state["step"] < total:
        step = state["step"]
        _, micro_batches = plan[step]
        opt.zero_grad()
        loss_sum, groups_in_step = 0.0, sum(len(m) for m in micro_batches)
        for mb in micro_batches:
            row_ids = [g * G + i for g in mb for i in range(G)]
            scores = model(*rows.batch(row_ids, pad_id)).view(len(mb), G)
            loss = group_loss(h["loss"], scores, labels[mb], teacher[mb], h["margin"])
            # Weighted by groups so accumulated micro-batches average like one large batch.
            (loss * (len(mb) / groups_in_step)).backward()
            loss_sum += loss.item() * len(mb) / groups_in_step
        torch.nn.utils.clip_grad_norm_(model.parameters(), h["max_grad_norm"])
        opt.step()
        sched.step()
        state["step"] = step + 1
        state["losses"].append(loss_sum)
        state["seconds"] = time.time() - started
        emit("step", step=state["step"], total=total, loss=loss_sum, lr=sched.get_last_lr()[0], seconds=state["seconds"])

        last = state["step"] == total
        if validation is not None and (state["step"] % eval_every == 0 or last):
            v = validate()
            state["validation"].append({"step": state["step"], "ndcg10": v})
            emit("validation", step=state["step"], ndcg10=v)
            if state["best"] is None or v > state["best"]:
                state["best"], state["best_step"], state["best_state"], state["bad_evals"] = v, state["step"], hf_state(model), 0
            else:
                state["bad_evals"] += 1
                if h.get("patience") and state["bad_evals"] >= h["patience"]:
                    stopped_early = True
        if checkpoint_every and (state["step"] % checkpoint_every == 0) and not last and not stopped_early:
            save_checkpoint(job["checkpoint"], fingerprint, {"step": state["step"], "model": model.state_dict(), "optimizer": opt.state_dict(),
                                                            "scheduler": sched.state_dict(), "rng": torch.get_rng_state(), "run": state})
            emit("checkpoint", step=state["step"])
        if stopped_early:
            emit("early_stop", step=state["step"], best_step=state["best_step"], patience=h["patience"])
            break

    # With validation, the weights written are the best validated ones (the last when none was better).
    final = state["best_state"] if state["best_state"] is not None else hf_state(model)
    os.makedirs(job["out"], exist_ok=True)
    write_safetensors(os.path.join(job["out"], "model.safetensors"), final, {"format": "pt", "winnow_trainer_protocol": PROTOCOL, "step": state["best_step"] or state["step"]})
    result = {"protocol": PROTOCOL, "steps": state["step"], "planned_steps": total, "stopped_early": stopped_early, "resumed_from": resumed_from,
              "losses": state["losses"], "validation": state["validation"], "selected_step": state["best_step"] or state["step"],
              "seconds": state["seconds"], "groups": n_groups, "steps_per_epoch": steps_per_epoch, "epochs": plan[state["step"] - 1][0] + 1, "threads": torch.get_num_threads()}
    with open(os.path.join(job["out"], "result.json.tmp"), "w") as f:
        json.dump(result, f)
    os.replace(os.path.join(job["out"], "result.json.tmp"), os.path.join(job["out"], "result.json"))
    emit("done", steps=state["step"])


def die_with_parent():
    """A SIGKILLed Node parent cannot stop its child: the kernel does it (Linux prctl), else a watcher thread."""
    import threading

    parent = os.getppid()
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass

    def watch():
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main():
    die_with_parent()
    if len(sys.argv) != 2:
        emit("error", message="usage: trainer.py JOB.json")
        sys.exit(2)
    try:
        with open(sys.argv[1]) as f:
            job = json.load(f)
        if job.get("protocol") != PROTOCOL:
            raise Refusal(f"{sys.argv[1]}: protocol {job.get('protocol')}, this trainer speaks {PROTOCOL}")
        modes = {"train": run_train, "forward": run_forward, "roundtrip": run_roundtrip}
        if job.get("mode") not in modes:
            raise Refusal(f"{sys.argv[1]}: mode must be one of {', '.join(modes)}, got {job.get('mode')!r}")
        modes[job["mode"]](job)
    except Refusal as err:
        emit("error", message=str(err))
        sys.exit(2)


if __name__ == "__main__":
    main()
