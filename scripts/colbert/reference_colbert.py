"""Independent ColBERT reference: the recipe of stanford-futuredata/ColBERT run in
PyTorch (float64) on a model whose weights are given as raw float32 files.

Used by test/rerankers/colbert/colbert-parity.test.ts. Written from the references,
not from Winnow's code:
- tokenization: BERT's BasicTokenizer + WordPiece over the model's vocab.txt
  (transformers' BertTokenizer algorithm: clean text, CJK spacing, lowercase, strip
  accents, split punctuation, greedy longest-match WordPiece, 100-char word limit);
- ColBERT's trick (colbert/modeling/tokenization/*_tokenization.py): tokenize ". " + text,
  truncate to the max length with [CLS]/[SEP], then overwrite position 1 with the
  marker; queries padded to query_maxlen with [PAD], then every [PAD] becomes [MASK]
  and, with attend_to_mask_tokens, is attended to;
- the model (colbert/modeling/colbert.py): BERT, `linear` without bias, document
  vectors masked by the punctuation skiplist and padding, L2 normalization;
- MaxSim: per query token the best dot product over document tokens, summed.

Usage: reference_colbert.py MODEL_DIR WEIGHTS_DIR INPUT_JSON OUTPUT_JSON
"""
import json
import math
import string
import sys
import unicodedata

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def load_vocab(path):
    with open(path, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    while tokens and tokens[-1] == "":
        tokens.pop()
    return {t: i for i, t in enumerate(tokens)}


def is_whitespace(c):
    if c in " \t\n\r":
        return True
    return unicodedata.category(c) == "Zs"


def is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    out = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        if is_whitespace(c):
            out.append(" ")
        elif is_cjk(cp):
            out.append(" " + c + " ")
        else:
            out.append(c)
    words = []
    for word in "".join(out).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = ""
        for c in word:
            if is_punctuation(c):
                if current:
                    words.append(current)
                words.append(c)
                current = ""
            else:
                current += c
        if current:
            words.append(current)
    return words


def wordpiece(word, vocab):
    if len(word) > 100:
        return [vocab["[UNK]"]]
    ids = []
    start = 0
    while start < len(word):
        end = len(word)
        found = None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab["[UNK]"]]
        ids.append(found)
        start = end
    return ids


def tokenize(text, vocab):
    ids = []
    for w in basic_tokenize(text):
        ids.extend(wordpiece(w, vocab))
    return ids


def colbert_input(text, vocab, meta, is_query):
    maxlen = meta["query_maxlen"] if is_query else meta["doc_maxlen"]
    body = tokenize(". " + text, vocab)[: maxlen - 2]
    ids = [vocab["[CLS]"]] + body + [vocab["[SEP]"]]
    mask = [1] * len(ids)
    if is_query:
        pad = maxlen - len(ids)
        ids += [vocab["[PAD]"]] * pad
        mask += [0] * pad
    ids[1] = vocab[meta["query_token_id"] if is_query else meta["doc_token_id"]]
    if is_query:
        ids = [vocab["[MASK]"] if i == vocab["[PAD]"] else i for i in ids]
        if meta.get("attend_to_mask_tokens"):
            mask = [1 if i == vocab["[MASK]"] else m for i, m in zip(ids, mask)]
    return ids, mask


class Weights:
    def __init__(self, folder):
        with open(f"{folder}/index.json") as f:
            self.index = json.load(f)
        self.folder = folder

    def __call__(self, name):
        entry = self.index[name]
        data = np.fromfile(f"{self.folder}/{entry['file']}", dtype="<f4").astype(np.float64)
        return torch.from_numpy(data.reshape(entry["dims"]))


def encode(ids, mask, w, config):
    H = config["hidden_size"]
    heads = config["num_attention_heads"]
    eps = config["layer_norm_eps"]
    p = "bert."
    n = len(ids)
    ids_t = torch.tensor(ids)
    x = w(p + "embeddings.word_embeddings.weight")[ids_t] + w(p + "embeddings.position_embeddings.weight")[:n] + w(p + "embeddings.token_type_embeddings.weight")[0]

    def ln(v, name):
        return torch.nn.functional.layer_norm(v, (H,), w(name + ".weight"), w(name + ".bias"), eps)

    def lin(v, name):
        return v @ w(name + ".weight") + w(name + ".bias")  # weights stored [in, out]

    x = ln(x, p + "embeddings.LayerNorm")
    bias = (1.0 - torch.tensor(mask, dtype=torch.float64)) * torch.finfo(torch.float64).min
    hd = H // heads
    for layer in range(config["num_hidden_layers"]):
        L = f"{p}encoder.layer.{layer}"
        q = lin(x, L + ".attention.self.query").view(n, heads, hd).transpose(0, 1)
        k = lin(x, L + ".attention.self.key").view(n, heads, hd).transpose(0, 1)
        v = lin(x, L + ".attention.self.value").view(n, heads, hd).transpose(0, 1)
        scores = q @ k.transpose(1, 2) / math.sqrt(hd) + bias
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(n, H)
        a = ln(lin(ctx, L + ".attention.output.dense") + x, L + ".attention.output.LayerNorm")
        inter = torch.nn.functional.gelu(lin(a, L + ".intermediate.dense"))
        x = ln(lin(inter, L + ".output.dense") + a, L + ".output.LayerNorm")
    return x @ w("linear.weight")  # [hidden, dim]: no bias


def main():
    model_dir, weights_dir, input_path, output_path = sys.argv[1:5]
    vocab = load_vocab(f"{model_dir}/vocab.txt")
    with open(f"{model_dir}/artifact.metadata") as f:
        meta = json.load(f)
    with open(f"{model_dir}/config.json") as f:
        config = json.load(f)
    with open(input_path) as f:
        inputs = json.load(f)
    w = Weights(weights_dir)
    skiplist = {tokenize(c, vocab)[0] for c in string.punctuation} if meta.get("mask_punctuation") else set()
    out = {"queries": [], "documents": []}
    qs = []
    for text in inputs["queries"]:
        ids, mask = colbert_input(text, vocab, meta, True)
        Q = torch.nn.functional.normalize(encode(ids, mask, w, config), p=2, dim=1)
        qs.append(Q)
        out["queries"].append({"ids": ids, "attention": mask, "vectors": Q.tolist()})
    ds = []
    for text in inputs["documents"]:
        ids, mask = colbert_input(text, vocab, meta, False)
        D = encode(ids, mask, w, config)
        keep = [i not in skiplist and i != vocab["[PAD]"] for i in ids]
        D = torch.nn.functional.normalize(D[torch.tensor(keep)], p=2, dim=1)
        ds.append(D)
        out["documents"].append({"ids": ids, "attention": mask, "kept": keep, "vectors": D.tolist()})
    out["maxsim"] = [[float((Q @ D.T).max(dim=1).values.sum()) for D in ds] for Q in qs]
    out["skiplist"] = sorted(skiplist)
    with open(output_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
