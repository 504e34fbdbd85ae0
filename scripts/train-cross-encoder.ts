/**
 * Trains a MiniLM-L6-H384 cross-encoder from scratch on SciFact *train* and writes it
 * as a model folder in the Hugging Face layout (fp32 and int8 graphs), so that int8
 * fidelity, fusion and speed can be checked on trained weights, not only random ones.
 *
 *   npx tsx scripts/train-cross-encoder.ts [--out .cache/models/minilm-l6-scifact]
 *       [--steps 150] [--groups-per-step 8] [--negatives 3] [--max-length 192] [--lr 2e-4] [--python /usr/bin/python3]
 *
 * With the defaults: about 15 minutes on 2 cores (Debian's torch needs OpenBLAS,
 * `apt-get install libopenblas0-pthread`: its default reference BLAS ran 35× slower).
 *
 * Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread (`apt-get install python3-torch libopenblas0-pthread`);
 * nothing else, and not in CI. Data: SciFact train queries with their judged documents
 * as positives and BM25 top-50 documents that are not judged relevant as negatives
 * (../shared/datasets/scifact; the test queries are never read). Tokenized here with the
 * generated model's tokenizer (the real bert-base-uncased WordPiece vocabulary); trained
 * by scripts/train_cross_encoder.py; built into ONNX by Winnow's own graph builder, the
 * same code that builds the generated models.
 *
 * A model trained from scratch on ~900 judged pairs on two CPU cores is not a good
 * ranker (no pre-training). It has what random weights lack: logits that spread widely
 * and depend on the input, and weights shaped by training. That is what the int8
 * fidelity check needs (docs/onnx-tools.md).
 */
import { spawn } from "node:child_process";
import * as ort from "onnxruntime-node";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { documentText } from "../src/core/inputs.js";
import type { Document } from "../src/core/types.js";
import { readCorpus } from "../src/eval/readers/beir.js";
import { SeededRandom } from "../src/core/seeded-random.js";
import type { WeightMap } from "../src/onnx/bert-graph.js";
import { defaultModelCacheDir, ensureGeneratedModel, generateModel } from "../src/onnx/generate.js";
import { encodePair, loadModelTokenizer, padPairRows, scorePairs } from "../src/onnx/fidelity.js";
import { MODEL_PRESETS } from "../src/onnx/presets.js";
import { buildDatasetIndex, judgedQueries } from "../src/rerankers/learned/dataset-training.js";

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    steps: { type: "string", default: "150" },
    "groups-per-step": { type: "string", default: "8" },
    negatives: { type: "string", default: "3" },
    "max-length": { type: "string", default: "192" },
    lr: { type: "string", default: "2e-4" },
    seed: { type: "string", default: "42" },
    python: { type: "string" },
    dataset: { type: "string" },
  },
});
const PRESET = "minilm-l6";
const preset = MODEL_PRESETS[PRESET];
const out = resolve(values.out ?? join(defaultModelCacheDir(), `${PRESET}-scifact`));
const maxLength = Number(values["max-length"]);
const negatives = Number(values.negatives);
const seed = Number(values.seed);
const dataset = resolve(values.dataset ?? fileURLToPath(new URL("../../shared/datasets/scifact", import.meta.url)));
const python = values.python ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

// Tokenizer files come from the generated folder (the real bert-base-uncased vocabulary).
const generated = await ensureGeneratedModel(PRESET);
const { tokenizer, padId } = loadModelTokenizer(generated);
// Truncates the document, keeping the final [SEP], as the fidelity check and the reranker do.
const encode = (query: string, doc: string) => encodePair(tokenizer, query, doc, maxLength);

console.error(`indexing ${dataset} …`);
const index = await buildDatasetIndex(dataset);
const byId = new Map<string, Document>();
for await (const doc of readCorpus(dataset)) byId.set(doc.id ?? "", doc);
const { queries, qrels } = await judgedQueries(dataset, "train");
const rng = new SeededRandom(seed);
const lines: string[] = [];
for (const q of queries) {
  const judged = qrels.get(q.id ?? "") ?? new Map<string, number>();
  const hits = await index.search(q, 50);
  const pool = hits.filter((h) => !((judged.get(h.document.id ?? "") ?? 0) >= 1)).map((h) => h.document);
  for (const [docId, grade] of judged) {
    const positive = byId.get(docId);
    if (grade < 1 || !positive) continue;
    const picks = [...pool];
    for (let i = picks.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [picks[i], picks[j]] = [picks[j], picks[i]];
    }
    if (picks.length < negatives) continue;
    const rows = [positive, ...picks.slice(0, negatives)].map((d) => encode(q.text, documentText(d)));
    lines.push(JSON.stringify({ ids: rows.map((r) => r.ids), types: rows.map((r) => r.types) }));
  }
}
console.error(`${lines.length} training groups (1 relevant + ${negatives} BM25 negatives) from ${queries.length} SciFact train queries`);

const work = await mkdtemp(join(tmpdir(), "winnow-train-"));
try {
  const config = {
    ...preset,
    vocab_size: tokenizer.get_vocab_size?.() ?? 30522,
    max_position_embeddings: preset.maxPositionEmbeddings,
    layer_norm_eps: preset.layerNormEps,
    num_labels: preset.numLabels,
    pad_token_id: padId,
  };
  await writeFile(join(work, "groups.jsonl"), lines.join("\n") + "\n");
  await writeFile(join(work, "config.json"), JSON.stringify(config));
  const script = fileURLToPath(new URL("./train_cross_encoder.py", import.meta.url));
  const args = [script, "--data", join(work, "groups.jsonl"), "--config", join(work, "config.json"), "--out", work, "--steps", values.steps!, "--groups-per-step", values["groups-per-step"]!, "--lr", values.lr!, "--seed", String(seed)];
  const code = await new Promise<number>((done, fail) => {
    const child = spawn(python, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", fail);
    child.on("exit", (c) => done(c ?? 1));
  });
  if (code !== 0) throw new Error(`${python} ${script} exited with ${code} (is python3-torch installed? apt-get install python3-torch python3-numpy libopenblas0-pthread)`);

  const manifest = JSON.parse(await readFile(join(work, "weights.json"), "utf8")) as Array<{ name: string; dims: number[]; offset: number }>;
  const bin = await readFile(join(work, "weights.bin"));
  const map: WeightMap = new Map();
  for (const m of manifest) {
    const n = m.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    new Uint8Array(data.buffer).set(bin.subarray(m.offset, m.offset + 4 * n));
    map.set(m.name, { dims: m.dims, data });
  }
  await generateModel({
    dir: out,
    preset: PRESET,
    weights: { map, source: { trainedBy: "scripts/train-cross-encoder.ts", data: "SciFact train (qrels/train.tsv) + BM25 negatives", steps: Number(values.steps), seed } },
  });
  // The ONNX graph must compute what torch trained: same logits on the reference groups.
  const reference = JSON.parse(await readFile(join(work, "reference.json"), "utf8")) as Array<{ ids: number[][]; types: number[][]; logits: number[] }>;
  const session = await ort.InferenceSession.create(join(out, "onnx", "model.onnx"));
  let worst = 0;
  for (const g of reference) {
    const logits = await scorePairs(session, padPairRows(g.ids.map((ids, i) => ({ ids, types: g.types[i] })), padId));
    g.logits.forEach((l, i) => (worst = Math.max(worst, Math.abs(l - logits[i]))));
  }
  await session.release();
  if (!(worst <= 1e-3)) throw new Error(`the ONNX graph does not reproduce the trained model: max |logit difference| ${worst}`);
  console.error(`wrote ${out} (ONNX matches torch within ${worst.toExponential(1)} on ${reference.length} reference groups)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
