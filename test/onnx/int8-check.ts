/**
 * Test support: the int8 check that test/onnx/int8-emulated.test.ts runs twice, natively
 * and under `qemu-x86_64 -cpu Haswell-v4` (an AVX2 CPU without VNNI), through the real
 * code paths: the kernel probe, `quantizeFile` with the auto scheme, and the cross-encoder
 * loader on a folder whose only int8 graph has s8 weights.
 *
 * Run as a script (`node --import tsx int8-check.ts <input.json>`) it prints one line
 * `RESULT <json>`; the input names the model folders, the pairs and a scratch folder.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { probeInt8Kernels, type Int8KernelProbe } from "../../src/onnx/int8-kernel-probe.js";
import { quantizeFile } from "../../src/onnx/quantize.js";
import { encodePairBatch, loadModelTokenizer, scorePairs } from "../../src/onnx/fidelity.js";
import { CrossEncoderReranker, type CrossEncoderOptions } from "../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import type { Int8State } from "../../src/rerankers/cross-encoder/int8-model.js";

export { errorOverSpread } from "./logit-error.js";

export interface Int8CheckInput {
  /** A generated model folder (onnx/model.onnx). */
  modelDir: string;
  /** A copy of it whose onnx/model_quantized.onnx holds s8 weights. */
  s8Dir: string;
  /** Scratch folder for files this run writes (its own: native and emulated runs must not share). */
  workDir: string;
  query: string;
  docs: string[];
}

export interface Int8CheckResult {
  probe: Int8KernelProbe;
  /** Logits of the file `quantizeFile` writes with the auto scheme (pairs encoded as `encodedBatch` does). */
  auto: { weights: string; logits: number[] };
  /** Logits of the s8 graph run as is. */
  s8Raw: number[];
  /** What the cross-encoder loader made of the s8-only folder (dtype int8), and its logits. */
  loader: { int8: Int8State; logits: number[] };
}

/** Longest pair: short, because fp32 and int8 kernels run ~50x slower under emulation. */
const MAX_LENGTH = 64;

async function scoreFile(input: Int8CheckInput, path: string): Promise<number[]> {
  const { tokenizer, padId } = loadModelTokenizer(input.modelDir);
  const batch = encodePairBatch(tokenizer, input.docs.map((d) => [input.query, d]), padId, MAX_LENGTH);
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    return Array.from(await scorePairs(session, batch));
  } finally {
    await session.release();
  }
}

async function rerankLogits(input: Int8CheckInput, options: Partial<CrossEncoderOptions> & { model: string }): Promise<{ logits: number[]; int8?: Int8State }> {
  // flashAttention off: its graph rewrite is slow under emulation and does not touch the int8 MatMuls.
  const reranker = await CrossEncoderReranker.load({ scores: "logit", threads: 1, flashAttention: false, maxLength: MAX_LENGTH, truncate: true, ...options });
  try {
    const logits = new Array<number>(input.docs.length);
    for (const r of await reranker.rerank(input.query, input.docs)) logits[r.index] = r.score;
    return { logits, int8: reranker.model!.int8 };
  } finally {
    await reranker.close();
  }
}

/** fp32 logits for the same pairs, both ways (they do not depend on the CPU's int8 kernels, so the parent computes them natively). */
export async function fp32Reference(input: Int8CheckInput): Promise<{ file: number[]; reranker: number[] }> {
  return {
    file: await scoreFile(input, join(input.modelDir, "onnx", "model.onnx")),
    reranker: (await rerankLogits(input, { model: input.modelDir, dtype: "fp32" })).logits,
  };
}

export async function runInt8Check(input: Int8CheckInput): Promise<Int8CheckResult> {
  const probe = await probeInt8Kernels();
  const autoPath = join(input.workDir, "model_auto.onnx");
  const report = await quantizeFile(join(input.modelDir, "onnx", "model.onnx"), autoPath);
  const loaded = await rerankLogits(input, { model: input.s8Dir, dtype: "int8", int8CacheDir: join(input.workDir, "int8-cache"), onWarning: () => undefined });
  return {
    probe,
    auto: { weights: report.weights!, logits: await scoreFile(input, autoPath) },
    s8Raw: await scoreFile(input, join(input.s8Dir, "onnx", "model_quantized.onnx")),
    loader: { int8: loaded.int8!, logits: loaded.logits },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const input = JSON.parse(readFileSync(process.argv[2], "utf8")) as Int8CheckInput;
  const result = await runInt8Check(input);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
