/** Test support: run a generated model folder with ONNX Runtime on tokenized pairs. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { Tokenizer } from "@huggingface/tokenizers";

export function loadTokenizer(dir: string): Tokenizer {
  const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
  return new Tokenizer(json, config);
}

export interface EncodedBatch {
  ids: number[][];
  mask: number[][];
  types: number[][];
}

/** Tokenizes (query, doc) pairs and right-pads them to the longest with `padId`. */
export function encodePairs(tokenizer: Tokenizer, pairs: Array<[string, string]>, padId: number, maxLength = 512): EncodedBatch {
  const enc = pairs.map(([q, d]) => tokenizer.encode(q, { text_pair: d, return_token_type_ids: true }));
  const len = Math.min(maxLength, Math.max(...enc.map((e) => e.ids.length)));
  const pad = (xs: number[], v: number) => [...xs.slice(0, len), ...Array(Math.max(0, len - xs.length)).fill(v)];
  return {
    ids: enc.map((e) => pad(e.ids, padId)),
    mask: enc.map((e) => pad(e.attention_mask, 0)),
    types: enc.map((e) => pad(e.token_type_ids ?? e.ids.map(() => 0), 0)),
  };
}

const toTensor = (rows: number[][]) => new ort.Tensor("int64", BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, rows[0].length]);

/** Runs the session and returns its first output as rows of numbers. */
export async function runBatch(session: ort.InferenceSession, batch: EncodedBatch): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const feeds: Record<string, ort.Tensor> = { input_ids: toTensor(batch.ids), attention_mask: toTensor(batch.mask) };
  if (session.inputNames.includes("token_type_ids")) feeds.token_type_ids = toTensor(batch.types);
  const out = await session.run(feeds);
  const t = out[session.outputNames[0]];
  return { dims: t.dims, data: t.data as Float32Array };
}
