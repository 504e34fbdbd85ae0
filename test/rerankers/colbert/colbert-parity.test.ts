import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel, tensorDims, floatValues } from "../../../src/onnx/onnx-graph.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { ColbertEncoder } from "../../../src/rerankers/colbert/colbert-encoder.js";
import { maxSim } from "../../../src/rerankers/colbert/maxsim.js";

/**
 * Numerical parity with an independent reference: scripts/colbert/reference_colbert.py
 * runs ColBERT's own recipe (its ". " + marker trick, [PAD]→[MASK], skiplist by
 * string.punctuation, BERT + linear + normalize) in PyTorch float64 with its own
 * WordPiece tokenizer over the generated model's vocab.txt (bert-base-uncased's real
 * 30,522-entry vocabulary). Token ids are compared one by one, vectors and MaxSim to 1e-4.
 * Debian's python3-torch is installed by scripts/install-services.sh, here and in CI.
 */
const PYTHON = "/usr/bin/python3";
const repo = resolve(import.meta.dirname, "../../..");

const QUERIES = [
  "What causes fever in children?",
  "Café crème, naïve résumé — accents & punctuation!",
  // Longer than the query length: truncated before [SEP], no [MASK]s left.
  Array.from({ length: 40 }, (_, i) => `word${i}`).join(" "),
];
const DOCUMENTS = [
  "Fever in children is most often caused by viral infections (e.g., influenza).",
  "The energy-landscape theory explains how proteins fold: quickly, and mostly correctly.",
  // Longer than doc_maxlen (180): truncated, [SEP] kept.
  "Vitamin D supplementation improves bone mineral density; ".repeat(30),
  "Unicode: 東京 and naïve façades, 3.14 ± 0.01 units.",
];

let tmp = "";
let modelDir = "";
let encoder: ColbertEncoder;
let reference: {
  queries: Array<{ ids: number[]; attention: number[]; vectors: number[][] }>;
  documents: Array<{ ids: number[]; attention: number[]; kept: boolean[]; vectors: number[][] }>;
  maxsim: number[][];
  skiplist: number[];
};

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "winnow-colbert-parity-"));
  modelDir = await ensureGeneratedModel("tiny-colbert");
  encoder = await ColbertEncoder.load({ model: modelDir, threads: 1 });
  // The weights, by their Hugging Face names, as raw float32 for the reference.
  const model = await loadModel(join(modelDir, "onnx", "model.onnx"));
  const index: Record<string, { dims: number[]; file: string }> = {};
  for (const [n, t] of (model.graph!.initializer ?? []).entries()) {
    const name = t.name ?? "";
    if (!name.startsWith("bert.") && name !== "linear.weight") continue;
    const file = `w${n}.f32`;
    const values = floatValues(t);
    await writeFile(join(tmp, file), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    index[name] = { dims: tensorDims(t), file };
  }
  await writeFile(join(tmp, "index.json"), JSON.stringify(index));
  await writeFile(join(tmp, "input.json"), JSON.stringify({ queries: QUERIES, documents: DOCUMENTS }));
  execFileSync(PYTHON, [join(repo, "scripts/colbert/reference_colbert.py"), modelDir, tmp, join(tmp, "input.json"), join(tmp, "output.json")], { stdio: "pipe", timeout: 120_000 });
  reference = JSON.parse(await readFile(join(tmp, "output.json"), "utf8"));
}, 180_000);
afterAll(async () => {
  await encoder?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe("ColBERT parity with a PyTorch reference of the recipe", () => {
  it("uses a real BERT vocabulary: bert-base-uncased's 30,522 entries, [unused0]/[unused1] at 1/2", () => {
    expect(existsSync(PYTHON)).toBe(true);
    const vocab = readFileSync(join(modelDir, "vocab.txt"), "utf8").split("\n").filter((l) => l !== "");
    expect(vocab).toHaveLength(30522);
    expect(vocab.slice(0, 3)).toEqual(["[PAD]", "[unused0]", "[unused1]"]);
    expect(vocab.slice(100, 104)).toEqual(["[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    expect(vocab[2003]).toBe("is");
  });

  it("query and document token ids, attention masks and the skiplist match token by token", () => {
    QUERIES.forEach((q, i) => {
      const ours = encoder.tokenizer.query(q);
      expect(Array.from(ours.ids), q).toEqual(reference.queries[i].ids);
      expect(Array.from(ours.attention), q).toEqual(reference.queries[i].attention);
    });
    DOCUMENTS.forEach((d, i) => {
      const ours = encoder.tokenizer.document(d);
      expect(Array.from(ours.ids), d).toEqual(reference.documents[i].ids);
    });
    expect([...encoder.tokenizer.skiplist].sort((a, b) => a - b)).toEqual(reference.skiplist);
    // The long query fills all 32 positions and the long document stops at doc_maxlen with [SEP].
    expect(reference.queries[2].ids).not.toContain(103);
    expect(reference.documents[2].ids).toHaveLength(180);
    expect(reference.documents[2].ids.at(-1)).toBe(102);
  });

  it("token vectors agree to 1e-4 (queries with their [MASK]s; documents without skiplisted tokens)", async () => {
    let worst = 0;
    for (const [i, q] of QUERIES.entries()) {
      const m = await encoder.encodeQuery(q);
      expect(m.rows).toBe(reference.queries[i].vectors.length);
      reference.queries[i].vectors.forEach((row, r) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - m.data[r * m.dims + j])))));
    }
    const docs = await encoder.encodeDocuments(DOCUMENTS);
    docs.forEach((m, i) => {
      expect(m.rows).toBe(reference.documents[i].vectors.length);
      expect(m.rows).toBe(reference.documents[i].kept.filter(Boolean).length);
      reference.documents[i].vectors.forEach((row, r) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - m.data[r * m.dims + j])))));
    });
    expect(worst).toBeLessThan(1e-4);
    expect(worst).toBeGreaterThan(0); // float32 ONNX Runtime vs float64 torch: not the same arithmetic
  });

  it("MaxSim scores agree to 1e-4", async () => {
    const docs = await encoder.encodeDocuments(DOCUMENTS);
    for (const [i, q] of QUERIES.entries()) {
      const m = await encoder.encodeQuery(q);
      docs.forEach((d, k) => expect(Math.abs(maxSim(m, d.data, d.rows) - reference.maxsim[i][k])).toBeLessThan(1e-4));
    }
  });
});
