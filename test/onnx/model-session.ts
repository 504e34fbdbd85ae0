/** Test support: run a generated model folder with ONNX Runtime on tokenized pairs. */
import * as ort from "onnxruntime-node";
import type { Tokenizer } from "@huggingface/tokenizers";
import { encodePairBatch, loadModelTokenizer, type EncodedPairBatch } from "../../src/onnx/fidelity.js";

export function loadTokenizer(dir: string): Tokenizer {
  return loadModelTokenizer(dir).tokenizer;
}

/** Tokenizes (query, doc) pairs with the model's template and right-pads them with `padId`. */
export function encodePairs(tokenizer: Tokenizer, pairs: Array<[string, string]>, padId: number, maxLength = 512): EncodedPairBatch {
  return encodePairBatch(tokenizer, pairs, padId, maxLength);
}

const toTensor = (rows: number[][]) => new ort.Tensor("int64", BigInt64Array.from(rows.flat().map((v) => BigInt(v))), [rows.length, rows[0].length]);

/** Runs the session and returns its first output (dims and raw data: logits or hidden states). */
export async function runBatch(session: ort.InferenceSession, batch: EncodedPairBatch): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const feeds: Record<string, ort.Tensor> = { input_ids: toTensor(batch.ids), attention_mask: toTensor(batch.mask) };
  if (session.inputNames.includes("token_type_ids")) feeds.token_type_ids = toTensor(batch.types);
  const out = await session.run(feeds);
  const t = out[session.outputNames[0]];
  return { dims: t.dims, data: t.data as Float32Array };
}
