import { describe, expect, it, beforeAll } from "vitest";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedDataset } from "../support/shared-datasets.js";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { encodeModel, loadModel, initializerMap, DataType } from "../../src/onnx/onnx-graph.js";
import { quantizeFile, quantizeModel, quantizeWeight } from "../../src/onnx/quantize.js";
import { kendallTau, measureFidelity } from "../../src/onnx/fidelity.js";
import { encodePairs, loadTokenizer, runBatch } from "./model-session.js";

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
    for (const n of ops(q, "MatMulInteger")) expect(qInits.get(n.input![1])!.dataType).toBe(DataType.INT8);
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
