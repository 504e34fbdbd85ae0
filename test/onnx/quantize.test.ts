import { describe, expect, it, beforeAll } from "vitest";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedDataset } from "../support/shared-datasets.js";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { encodeModel, loadModel, initializerMap, DataType, tensorValues } from "../../src/onnx/onnx-graph.js";
import { quantizeFile, quantizeModel, quantizeWeight } from "../../src/onnx/quantize.js";
import { kendallTau, measureFidelity } from "../../src/onnx/fidelity.js";
import { encodePairs, loadTokenizer, runBatch } from "./model-session.js";
import { probeInt8Kernels, type Int8KernelProbe } from "../../src/onnx/int8-kernel-probe.js";
import { AVX2_PROBE, VNNI_PROBE } from "./int8-probes.js";
import { errorOverSpread } from "./logit-error.js";

const scifactSet = sharedDataset("scifact");
const scifact = scifactSet.dir;

describe("quantizeWeight", () => {
  it("is symmetric int8 with scale absmax/127, per tensor or per output column", () => {
    const w = Float32Array.from([0.5, -2, 0.25, 1, 0.1, -0.3]); // [3, 2]
    const perTensor = quantizeWeight(w, [3, 2], false);
    expect(perTensor.scales).toHaveLength(1);
    expect(perTensor.scales[0]).toBeCloseTo(2 / 127, 7);
    expect(Array.from(perTensor.q)).toEqual([32, -127, 16, 64, 6, -19]);
    const perChannel = quantizeWeight(w, [3, 2], true);
    expect(Array.from(perChannel.scales)).toEqual([Math.fround(0.5 / 127), Math.fround(2 / 127)]);
    expect(Array.from(perChannel.q)).toEqual([127, -127, 64, 64, 25, -19]);
    for (let i = 0; i < w.length; i++) expect(Math.abs(perChannel.q[i] * perChannel.scales[i % 2] - w[i])).toBeLessThanOrEqual(perChannel.scales[i % 2] / 2 + 1e-7);
    expect(Math.min(...quantizeWeight(w, [3, 2], false, true).q)).toBe(-64); // reduce_range: 7-bit
  });
});

describe("quantizeModel (tiny-bert)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await ensureGeneratedModel("tiny-bert");
  });

  it("rewrites every constant-weight MatMul into DynamicQuantizeLinear → MatMulInteger → Cast → Mul, sharing the Q/K/V input quantization", async () => {
    const model = await loadModel(join(dir, "onnx", "model.onnx"));
    const q = quantizeModel(model);
    const ops = (m: typeof model, op: string) => m.graph!.node!.filter((n) => n.opType === op);
    const inits = initializerMap(model.graph!);
    const weightMatMuls = ops(model, "MatMul").filter((n) => inits.has(n.input![1]));
    expect(weightMatMuls).toHaveLength(2 * 6 + 2); // 6 per layer + pooler + classifier
    expect(ops(q, "MatMulInteger")).toHaveLength(weightMatMuls.length);
    expect(ops(q, "MatMul")).toHaveLength(2 * 2); // attention scores and context stay fp32
    expect(ops(q, "DynamicQuantizeLinear")).toHaveLength(2 * 4 + 2);
    const qInits = initializerMap(q.graph!);
    // Default u8 weights (exact on every CPU) with zero point 128.
    for (const n of ops(q, "MatMulInteger")) {
      expect(qInits.get(n.input![1])!.dataType).toBe(DataType.UINT8);
      expect(Array.from(tensorValues(qInits.get(n.input![3])!))).toEqual([128]);
    }
    for (const n of weightMatMuls) expect(qInits.has(n.input![1])).toBe(false); // fp32 weights dropped
    // MatMul weights shrink 4x; the embedding tables (most of tiny-bert) stay fp32.
    const weightBytes = weightMatMuls.reduce((s, n) => s + inits.get(n.input![1])!.rawData!.length, 0);
    expect(encodeModel(model).length - encodeModel(q).length).toBeGreaterThan(weightBytes * 0.7);
  });

  it("runs in ONNX Runtime and stays close to fp32 on real text", async () => {
    const opts = { intraOpNumThreads: 1 };
    const fp32 = await ort.InferenceSession.create(join(dir, "onnx", "model.onnx"), opts);
    expect(existsSync(join(dir, "onnx", "model_quantized.onnx"))).toBe(true);
    const int8 = await ort.InferenceSession.create(join(dir, "onnx", "model_quantized.onnx"), opts);
    const tok = loadTokenizer(dir);
    const docs = [
      "Vitamin D deficiency is associated with a higher risk of several cancers.",
      "The committee approved the new budget for road maintenance.",
      "Statins lower LDL cholesterol and reduce cardiovascular events.",
      "Tumour growth was suppressed by calcitriol in mouse models.",
      "A recipe for sourdough bread with a long cold fermentation.",
      "Serum 25-hydroxyvitamin D levels were measured in 2,000 patients.",
      "Football season ended with a dramatic penalty shoot-out.",
      "Cancer incidence fell among participants given supplements.",
    ];
    const batch = encodePairs(tok, docs.map((d) => ["vitamin d and cancer risk", d]), 0);
    const a = (await runBatch(fp32, batch)).data;
    const b = (await runBatch(int8, batch)).data;
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length);
    const meanErr = a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0) / a.length;
    expect(std).toBeGreaterThan(0.05);
    expect(meanErr / std).toBeLessThan(0.25);
    expect(kendallTau(a, b)).toBeGreaterThan(0.6);
  });

  it("quantizeFile refuses an already-quantized model and names a missing file", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "winnow-q-")), "q.onnx");
    await expect(quantizeFile(join(dir, "onnx", "model_quantized.onnx"), out)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(existsSync(out)).toBe(false);
    await expect(quantizeFile(join(dir, "nope.onnx"), out)).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
    const report = await quantizeFile(join(dir, "onnx", "model.onnx"), out, { perChannel: true });
    expect(report.quantizedMatMuls).toBe(14);
    expect(statSync(out).size).toBeGreaterThan(0);
  });
});

describe("kendallTau", () => {
  it("is 1 for the same order, -1 for the reverse, and in between otherwise", () => {
    expect(kendallTau([1, 2, 3, 4], [10, 20, 30, 40])).toBe(1);
    expect(kendallTau([1, 2, 3, 4], [4, 3, 2, 1])).toBe(-1);
    expect(kendallTau([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(4 / 6, 10);
  });
});

describe.skipIf(!scifactSet.present)(`measureFidelity${scifactSet.skipNote}`, () => {
  it("reports error against the fp32 spread and ranking agreement on SciFact pairs", async () => {
    const dir = await ensureGeneratedModel("tiny-bert");
    const r = await measureFidelity({
      modelDir: dir,
      referencePath: join(dir, "onnx", "model.onnx"),
      candidatePath: join(dir, "onnx", "model_quantized.onnx"),
      datasetDir: scifact,
      queries: 2,
      docsPerQuery: 12,
      maxLength: 96,
      threads: 1,
    });
    expect(r.pairs).toBe(24);
    expect(r.queries).toBe(2);
    expect(r.maxAbsError).toBeGreaterThanOrEqual(r.meanAbsError);
    expect(r.maxAbsError).toBeGreaterThan(0); // int8 is not bit-identical
    expect(r.maxErrorPctOfStd).toBeCloseTo((100 * r.maxAbsError) / r.fp32Std, 6);
    expect(r.kendallTau).toBeGreaterThan(0.5);
    // Comparing a model with itself is exact.
    const same = await measureFidelity({ modelDir: dir, referencePath: join(dir, "onnx", "model.onnx"), candidatePath: join(dir, "onnx", "model.onnx"), datasetDir: scifact, queries: 1, docsPerQuery: 8, maxLength: 64, threads: 1 });
    expect(same.maxAbsError).toBe(0);
    expect(same.kendallTau).toBe(1);
  }, 30_000);
});

describe("weight schemes (tiny-bert)", () => {
  let dir: string;
  let model: Awaited<ReturnType<typeof loadModel>>;
  let probe: Int8KernelProbe;
  beforeAll(async () => {
    dir = await ensureGeneratedModel("tiny-bert");
    model = await loadModel(join(dir, "onnx", "model.onnx"));
    probe = await probeInt8Kernels();
  });
  const integerWeights = (m: typeof model) => {
    const inits = initializerMap(m.graph!);
    return m.graph!.node!.filter((n) => n.opType === "MatMulInteger").map((n) => ({ weight: inits.get(n.input![1])!, zeroPoint: inits.get(n.input![3])! }));
  };

  it("s8 and u8 store the same integers (u8 = s8 + 128, zero point 128); reduce-range stays within ±64", () => {
    const s8 = integerWeights(quantizeModel(model, { weights: "s8" }));
    const u8 = integerWeights(quantizeModel(model, { weights: "u8", perChannel: false }));
    const rr = integerWeights(quantizeModel(model, { weights: "s8-reduce-range" }));
    expect(s8).toHaveLength(14);
    for (const [i, w] of s8.entries()) {
      expect(w.weight.dataType).toBe(DataType.INT8);
      expect(Array.from(tensorValues(w.zeroPoint))).toEqual([0]);
      expect(u8[i].weight.dataType).toBe(DataType.UINT8);
      expect(Array.from(tensorValues(u8[i].zeroPoint))).toEqual([128]);
      const a = tensorValues(w.weight);
      const b = tensorValues(u8[i].weight);
      for (let k = 0; k < a.length; k++) if (b[k] !== a[k] + 128) throw new Error(`weight ${i}[${k}]: u8 ${b[k]} != s8 ${a[k]} + 128`);
      expect(tensorValues(rr[i].weight).reduce((m, v) => Math.max(m, Math.abs(v)), 0)).toBe(64);
    }
    // The earlier reduceRange option is the same scheme.
    expect(Buffer.from(encodeModel(quantizeModel(model, { reduceRange: true }))).equals(Buffer.from(encodeModel(quantizeModel(model, { weights: "s8-reduce-range" }))))).toBe(true);
    // Per channel: one zero point per output column.
    const pc = integerWeights(quantizeModel(model, { weights: "u8", perChannel: true }));
    expect(tensorValues(pc[0].zeroPoint).length).toBe(128);
  });

  it("u8 logits equal s8 logits under ONNX Runtime's load-time s8→u8 conversion on every CPU; plain s8 equals them only where the probe finds s8 exact", async () => {
    const tok = loadTokenizer(dir);
    const docs = ["Vitamin D deficiency is associated with a higher risk of several cancers.", "The committee approved the new budget for road maintenance.", "Statins lower LDL cholesterol.", "Tumour growth was suppressed by calcitriol in mouse models.", "Serum 25-hydroxyvitamin D levels were measured in 2,000 patients.", "A recipe for sourdough bread."];
    const batch = encodePairs(tok, docs.map((d) => ["vitamin d and cancer risk", d]), 0);
    const logits = async (m: typeof model, extra?: Record<string, unknown>) =>
      Array.from((await runBatch(await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1, ...(extra ? { extra } : {}) }), batch)).data);
    const fp32 = await logits(model);
    const s8Model = quantizeModel(model, { weights: "s8" });
    const u8 = await logits(quantizeModel(model, { weights: "u8" }));
    const s8Converted = await logits(s8Model, { session: { x64quantprecision: "1" } });
    const s8Plain = await logits(s8Model);
    expect(s8Converted).toEqual(u8);
    expect(errorOverSpread(fp32, u8)).toBeLessThan(0.35);
    if (probe.s8.exact) expect(s8Plain).toEqual(u8);
    else expect(errorOverSpread(fp32, s8Plain)).toBeGreaterThan(2 * errorOverSpread(fp32, u8)); // saturated: far off
  });

  it("quantizeFile's auto scheme follows the probe (s8 where s8 is exact, u8 where it saturates) and the report says which and why", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "winnow-q-")), "q.onnx");
    const input = join(dir, "onnx", "model.onnx");
    const here = await quantizeFile(input, out);
    expect(here).toMatchObject({ weights: probe.recommended, exactHere: true, perChannel: false });
    expect(here.schemeReason).toBe(`auto: ${probe.reason}`);
    expect(await quantizeFile(input, out, { probe: VNNI_PROBE })).toMatchObject({ weights: "s8", exactHere: true, schemeReason: expect.stringContaining("exact here") });
    expect(await quantizeFile(input, out, { probe: AVX2_PROBE })).toMatchObject({ weights: "u8", exactHere: true, schemeReason: expect.stringContaining("saturate") });
    // A flag overrides auto; the report says when the choice is not exact on this CPU.
    expect(await quantizeFile(input, out, { probe: AVX2_PROBE, weights: "s8" })).toMatchObject({ weights: "s8", exactHere: false, schemeReason: expect.stringContaining("NOT exact on this CPU: u8×s8 products saturate") });
    expect(await quantizeFile(input, out, { probe: VNNI_PROBE, weights: "u8" })).toMatchObject({ weights: "u8", exactHere: true });
  });

  it("refuses a scheme it does not know, naming the field, and contradicting options", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "winnow-q-")), "q.onnx");
    await expect(quantizeFile(join(dir, "onnx", "model.onnx"), out, { weights: "s4" as "s8" })).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "weights" } });
    expect(() => quantizeModel(model, { weights: "auto" })).toThrow(/resolve "auto" first/);
    expect(() => quantizeModel(model, { weights: "u8", reduceRange: true })).toThrow(/reduceRange contradicts/);
    expect(existsSync(out)).toBe(false);
  });
});
