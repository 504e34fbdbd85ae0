/**
 * What graph fusion and int8 buy on the MiniLM-L6-H384 cross-encoder shape.
 *
 *   npx tsx bench/fusion.ts [--quick] [--preset minilm-l6] [--pairs N] [--batch B] [--max-length L] [--threads T]
 *
 * Variants (all built from the same generated model in this run):
 *   fp32            the exporter-style graph (ORT's session optimizations only)
 *   fp32-fused      fuseModel: Attention, SkipLayerNorm, BiasGelu, EmbedLayerNorm
 *   int8            quantizeModel on the unfused graph (what model_quantized.onnx is)
 *   int8-fused      fuse, then quantize (Attention → QAttention)
 *   int8-fused-noattn  fuse all but attention, then quantize (MatMuls stay DynamicQuantizeMatMul)
 *   int8-then-fused quantize, then fuse (attention cannot fuse over MatMulInteger)
 *   int8-attn-only  fuse attention only (QAttention), then quantize: SkipLayerNormalization
 *                   and BiasGelu measured slower than what they replace on ORT 1.30 CPU
 *   fp32-flash / int8-flash  attention: "flash-when-unpadded" (what the cross-encoder loads):
 *                   unpadded batches (--batch 1) take the flash kernel, padded ones the
 *                   attention as exported
 * Every variant scores the same SciFact pairs; rounds are interleaved so machine
 * load hits all variants alike. Prints pairs/s (wall clock), process CPU ms per pair
 * (with --threads 1 this is the work itself and barely moves with machine load; with
 * more threads it includes ORT's spin-waiting), ratios to fp32, and the max logit
 * deviation from fp32.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel } from "../src/onnx/generate.js";
import { encodeModel, loadModel } from "../src/onnx/onnx-graph.js";
import { fuseModel } from "../src/onnx/fuse.js";
import { quantizeModel as quantizeGraph } from "../src/onnx/quantize.js";
import { probeInt8Kernels } from "../src/onnx/int8-kernel-probe.js";
import { encodePairBatch, loadModelTokenizer, samplePairs, scorePairs, type EncodedPairBatch } from "../src/onnx/fidelity.js";
import { isModelPresetName } from "../src/onnx/presets.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    preset: { type: "string", default: "minilm-l6" },
    pairs: { type: "string" },
    batch: { type: "string", default: "8" },
    "max-length": { type: "string", default: "256" },
    threads: { type: "string", default: "2" },
    rounds: { type: "string" },
  },
});
if (!isModelPresetName(values.preset!)) throw new Error(`unknown preset ${values.preset}`);
const quick = values.quick!;
const pairCount = Number(values.pairs ?? (quick ? 32 : 200));
const batchSize = Number(values.batch);
const maxLength = Number(values["max-length"]);
const threads = Number(values.threads);
const rounds = Number(values.rounds ?? (quick ? 2 : 3));

const FLASH_ONLY = { attention: "flash-when-unpadded", layerNormAndGelu: false, skipLayerNorm: false, biasGelu: false, embedLayerNorm: false } as const;
const dir = await ensureGeneratedModel(values.preset);
const base = await loadModel(join(dir, "onnx", "model.onnx"));
// int8 variants use the weight scheme exact on this CPU (s8 with VNNI, u8 without: docs/onnx-tools.md).
const int8 = { weights: (await probeInt8Kernels()).recommended };
const quantizeModel = (m: typeof base) => quantizeGraph(m, int8);
const variants: Array<[string, Uint8Array]> = [
  ["fp32", encodeModel(base)],
  ["fp32-fused", encodeModel(fuseModel(base).model)],
  ["int8", encodeModel(quantizeModel(base))],
  ["int8-fused", encodeModel(quantizeModel(fuseModel(base).model))],
  ["int8-fused-noattn", encodeModel(quantizeModel(fuseModel(base, { attention: false }).model))],
  ["int8-then-fused", encodeModel(fuseModel(quantizeModel(base)).model)],
  ["int8-attn-only", encodeModel(quantizeModel(fuseModel(base, { skipLayerNorm: false, biasGelu: false, embedLayerNorm: false }).model))],
  ["fp32-flash", encodeModel(fuseModel(base, FLASH_ONLY).model)],
  ["int8-flash", encodeModel(fuseModel(quantizeModel(base), FLASH_ONLY).model)],
];

const scifact = fileURLToPath(new URL("../../shared/datasets/scifact", import.meta.url));
const groups = await samplePairs(scifact, "test", Math.ceil(pairCount / 50), 50);
const pairs = groups.flat().slice(0, pairCount);
const { tokenizer, padId } = loadModelTokenizer(dir);
const batches: EncodedPairBatch[] = [];
for (let i = 0; i < pairs.length; i += batchSize) batches.push(encodePairBatch(tokenizer, pairs.slice(i, i + batchSize), padId, maxLength));
const tokens = batches.reduce((s, b) => s + b.mask.flat().reduce((a, m) => a + m, 0), 0);

const sessions = new Map<string, ort.InferenceSession>();
for (const [name, bytes] of variants) {
  sessions.set(name, await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" }));
}
const scores = new Map<string, number[]>();
const seconds = new Map<string, number[]>();
const cpuSeconds = new Map<string, number[]>();
for (const [name] of variants) await scorePairs(sessions.get(name)!, batches[0]); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const [name] of variants) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const out: number[] = [];
    for (const b of batches) out.push(...(await scorePairs(sessions.get(name)!, b)));
    const used = process.cpuUsage(cpu);
    seconds.set(name, [...(seconds.get(name) ?? []), (performance.now() - started) / 1000]);
    cpuSeconds.set(name, [...(cpuSeconds.get(name) ?? []), (used.user + used.system) / 1e6]);
    scores.set(name, out);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fp32 = scores.get("fp32")!;
const mean = fp32.reduce((s, x) => s + x, 0) / fp32.length;
const std = Math.sqrt(fp32.reduce((s, x) => s + (x - mean) ** 2, 0) / fp32.length);
const fp32Rate = pairs.length / median(seconds.get("fp32")!);
const fp32Cpu = median(cpuSeconds.get("fp32")!);
console.log(`${values.preset}: ${pairs.length} SciFact pairs (${(tokens / pairs.length).toFixed(0)} tokens/pair avg, max ${maxLength}), batches of ${batchSize}, ${threads} threads, median of ${rounds} interleaved rounds`);
console.log("variant              pairs/s   vs fp32   cpu ms/pair   fp32 cpu / cpu   max|Δlogit| vs fp32 (% of fp32 std)");
for (const [name] of variants) {
  const rate = pairs.length / median(seconds.get(name)!);
  const s = scores.get(name)!;
  const maxErr = Math.max(...s.map((x, i) => Math.abs(x - fp32[i])));
  const cpu = median(cpuSeconds.get(name)!);
  console.log(
    `${name.padEnd(20)} ${rate.toFixed(1).padStart(7)}   ${(rate / fp32Rate).toFixed(2).padStart(5)}x   ${((1000 * cpu) / pairs.length).toFixed(1).padStart(11)}   ${(fp32Cpu / cpu).toFixed(2).padStart(13)}x   ${maxErr.toFixed(5)} (${((100 * maxErr) / std).toFixed(1)}%)`,
  );
}
