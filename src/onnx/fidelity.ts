/**
 * How far a transformed model (int8, fused) drifts from the fp32 original on real
 * query–document pairs: max and mean |logit error|, both as % of the spread (std)
 * of the fp32 logits, and the Kendall tau between the two rankings per query.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as Ort from "onnxruntime-node";
import { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError } from "../core/errors.js";
import { documentText } from "../core/inputs.js";
import type { Document } from "../core/types.js";
import { loadBeirDataset, readCorpus } from "../eval/readers/beir.js";
import { SeededRandom } from "../core/seeded-random.js";

export interface FidelityOptions {
  /** Model folder with tokenizer.json and tokenizer_config.json. */
  modelDir: string;
  /** The reference (fp32) ONNX file. */
  referencePath: string;
  /** The transformed ONNX file to check. */
  candidatePath: string;
  /** BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv). */
  datasetDir: string;
  split?: string;
  /** Judged queries to use (default 10). */
  queries?: number;
  /** Documents per query: its judged ones, then seeded random corpus documents (default 100). */
  docsPerQuery?: number;
  /** Token limit per pair (the document is truncated; default 256). */
  maxLength?: number;
  batchSize?: number;
  threads?: number;
}

export interface FidelityReport {
  pairs: number;
  queries: number;
  fp32Std: number;
  maxAbsError: number;
  meanAbsError: number;
  maxErrorPctOfStd: number;
  meanErrorPctOfStd: number;
  /** Mean over queries of Kendall's tau between the reference and candidate rankings. */
  kendallTau: number;
  referencePairsPerSecond: number;
  candidatePairsPerSecond: number;
}

/** Kendall's tau-a between two score lists over the same items. */
export function kendallTau(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new WinnowError("INVALID_INPUT", `kendallTau: lengths differ (${n} vs ${b.length})`, { details: { field: "b" } });
  if (n < 2) return 1;
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = Math.sign(a[i] - a[j]) * Math.sign(b[i] - b[j]);
      if (s > 0) concordant++;
      else if (s < 0) discordant++;
    }
  }
  return (concordant - discordant) / ((n * (n - 1)) / 2);
}

export interface EncodedPairBatch {
  ids: number[][];
  mask: number[][];
  types: number[][];
}

/** One (query, document) pair, unpadded, truncated as encodePairBatch describes. */
export function encodePair(tokenizer: Tokenizer, query: string, doc: string, maxLength: number): { ids: number[]; types: number[] } {
  const e = tokenizer.encode(query, { text_pair: doc, return_token_type_ids: true });
  const ids = [...e.ids];
  const types = [...(e.token_type_ids ?? e.ids.map(() => 0))];
  if (ids.length > maxLength) {
    ids.splice(maxLength - 1, ids.length - maxLength);
    types.splice(maxLength - 1, types.length - maxLength);
  }
  return { ids, types };
}

/**
 * Tokenizes (query, document) pairs with the model's template and right-pads
 * them; over-long pairs lose document tokens from the end, keeping the final
 * separator (HF's `truncation="only_second"` for short queries).
 */
export function encodePairBatch(tokenizer: Tokenizer, pairs: Array<[string, string]>, padId: number, maxLength: number): EncodedPairBatch {
  return padPairRows(pairs.map(([q, d]) => encodePair(tokenizer, q, d, maxLength)), padId);
}

/** Right-pads encoded pairs to the longest, with the attention mask that marks real tokens. */
export function padPairRows(rows: ReadonlyArray<{ ids: number[]; types: number[] }>, padId: number): EncodedPairBatch {
  const len = Math.max(...rows.map((r) => r.ids.length));
  const pad = (xs: number[], v: number) => xs.concat(Array(len - xs.length).fill(v));
  return {
    ids: rows.map((r) => pad(r.ids, padId)),
    mask: rows.map((r) => pad(r.ids.map(() => 1), 0)),
    types: rows.map((r) => pad(r.types, 0)),
  };
}

export function loadModelTokenizer(modelDir: string): { tokenizer: Tokenizer; padId: number } {
  try {
    const json = JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8"));
    const config = JSON.parse(readFileSync(join(modelDir, "tokenizer_config.json"), "utf8"));
    const tokenizer = new Tokenizer(json, config);
    const padId = tokenizer.token_to_id(config.pad_token ?? "[PAD]") ?? 0;
    return { tokenizer, padId };
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot load the tokenizer in ${modelDir}: ${(err as Error).message}`, {
      details: { path: modelDir },
      cause: err,
    });
  }
}

// Loaded on first use so that importing the library does not load ONNX Runtime's native module.
let ortModule: Promise<typeof Ort> | undefined;
const loadOrt = () => (ortModule ??= import("onnxruntime-node"));

function int64Tensor(ort: typeof Ort, rows: number[][]): Ort.Tensor {
  return new ort.Tensor("int64", BigInt64Array.from(rows.flat(), (v) => BigInt(v)), [rows.length, rows[0].length]);
}

/** One relevance logit per pair: the logit itself, or logit[1] - logit[0] for two-label heads. */
export async function scorePairs(session: Ort.InferenceSession, batch: EncodedPairBatch): Promise<Float32Array> {
  const ort = await loadOrt();
  const feeds: Record<string, Ort.Tensor> = { input_ids: int64Tensor(ort, batch.ids), attention_mask: int64Tensor(ort, batch.mask) };
  if (session.inputNames.includes("token_type_ids")) feeds.token_type_ids = int64Tensor(ort, batch.types);
  const out = (await session.run(feeds))[session.outputNames[0]];
  const labels = out.dims[out.dims.length - 1];
  const data = out.data as Float32Array;
  if (labels === 1) return Float32Array.from(data);
  return Float32Array.from({ length: batch.ids.length }, (_, i) => data[i * labels + 1] - data[i * labels]);
}

/** Query–document pairs from a BEIR collection: judged docs first, then seeded random ones. */
export async function samplePairs(datasetDir: string, split: string, queries: number, docsPerQuery: number): Promise<Array<Array<[string, string]>>> {
  const dataset = await loadBeirDataset(datasetDir, split);
  const corpus: Document[] = [];
  const byId = new Map<string, Document>();
  for await (const doc of readCorpus(datasetDir)) {
    corpus.push(doc);
    byId.set(doc.id, doc);
  }
  const rng = new SeededRandom(1234);
  const groups: Array<Array<[string, string]>> = [];
  for (const query of dataset.queries.slice(0, queries)) {
    const ids = new Set([...(dataset.qrels.get(query.id ?? "")?.keys() ?? [])].filter((id) => byId.has(id)));
    while (ids.size < Math.min(docsPerQuery, corpus.length)) {
      ids.add(corpus[Math.floor(rng.uniform() * corpus.length)].id);
    }
    groups.push([...ids].slice(0, docsPerQuery).map((id) => [query.text, documentText(byId.get(id)!)]));
  }
  return groups;
}

/** Scores the same SciFact-style pairs with both models and compares. */
export async function measureFidelity(options: FidelityOptions): Promise<FidelityReport> {
  const maxLength = options.maxLength ?? 256;
  const batchSize = options.batchSize ?? 16;
  const { tokenizer, padId } = loadModelTokenizer(options.modelDir);
  const groups = await samplePairs(options.datasetDir, options.split ?? "test", options.queries ?? 10, options.docsPerQuery ?? 100);
  const ort = await loadOrt();
  const sessionOptions: Ort.InferenceSession.SessionOptions = { intraOpNumThreads: options.threads ?? 2, interOpNumThreads: 1 };
  const open = async (path: string) => {
    try {
      return await ort.InferenceSession.create(path, sessionOptions);
    } catch (err) {
      throw new WinnowError("MODEL_LOAD_FAILED", `ONNX Runtime cannot load ${path}: ${(err as Error).message}`, { details: { path }, cause: err });
    }
  };
  const [reference, candidate] = [await open(options.referencePath), await open(options.candidatePath)];
  const batches: EncodedPairBatch[] = [];
  for (const group of groups) {
    for (let i = 0; i < group.length; i += batchSize) batches.push(encodePairBatch(tokenizer, group.slice(i, i + batchSize), padId, maxLength));
  }
  const run = async (session: Ort.InferenceSession) => {
    const started = performance.now();
    const scores: number[] = [];
    for (const b of batches) scores.push(...(await scorePairs(session, b)));
    return { scores, seconds: (performance.now() - started) / 1000 };
  };
  const ref = await run(reference);
  const cand = await run(candidate);
  const n = ref.scores.length;
  const mean = ref.scores.reduce((s, x) => s + x, 0) / n;
  const std = Math.sqrt(ref.scores.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
  let maxAbs = 0;
  let sumAbs = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.abs(ref.scores[i] - cand.scores[i]);
    maxAbs = Math.max(maxAbs, e);
    sumAbs += e;
  }
  let offset = 0;
  let tauSum = 0;
  for (const group of groups) {
    tauSum += kendallTau(ref.scores.slice(offset, offset + group.length), cand.scores.slice(offset, offset + group.length));
    offset += group.length;
  }
  return {
    pairs: n,
    queries: groups.length,
    fp32Std: std,
    maxAbsError: maxAbs,
    meanAbsError: sumAbs / n,
    maxErrorPctOfStd: (100 * maxAbs) / std,
    meanErrorPctOfStd: (100 * sumAbs) / n / std,
    kendallTau: tauSum / groups.length,
    referencePairsPerSecond: n / ref.seconds,
    candidatePairsPerSecond: n / cand.seconds,
  };
}

export function formatFidelityReport(r: FidelityReport): string {
  return [
    `pairs: ${r.pairs} (${r.queries} queries)`,
    `fp32 logit std: ${r.fp32Std.toFixed(4)}`,
    `max |logit error|: ${r.maxAbsError.toFixed(4)} (${r.maxErrorPctOfStd.toFixed(1)}% of std)`,
    `mean |logit error|: ${r.meanAbsError.toFixed(4)} (${r.meanErrorPctOfStd.toFixed(1)}% of std)`,
    `Kendall tau (mean per query): ${r.kendallTau.toFixed(4)}`,
    `speed: reference ${r.referencePairsPerSecond.toFixed(1)} pairs/s, candidate ${r.candidatePairsPerSecond.toFixed(1)} pairs/s`,
  ].join("\n");
}
