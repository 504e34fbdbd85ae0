import { describe, expect, it } from "vitest";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { DataType, GraphBuilder, encodeModel, loadModel, onnx, tensorValueInfo, type ModelProto } from "../../src/onnx/onnx-graph.js";
import { fuseModel } from "../../src/onnx/fuse.js";
import { quantizeModel } from "../../src/onnx/quantize.js";
import type { ModelPresetName } from "../../src/onnx/presets.js";
import { encodePairs, loadTokenizer, runBatch } from "./model-session.js";

const pairs: Array<[string, string]> = [
  ["what causes scurvy?", "Scurvy results from a lack of vitamin C (ascorbic acid) in the diet."],
  ["vitamin d", "Serum 25-hydroxyvitamin D was measured in 2,000 patients."],
  ["q", "d"],
];

async function logits(model: ModelProto, dir: string, padId: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
  return (await runBatch(session, encodePairs(loadTokenizer(dir), pairs, padId))).data;
}
const maxDiff = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
const opTypes = (m: ModelProto) => new Set(m.graph!.node!.map((n) => n.opType));

/** Renames every node and internal tensor, so a pass that keyed on exporter names would fail. */
function scrambleNames(model: ModelProto): ModelProto {
  const copy = onnx.ModelProto.decode(encodeModel(model));
  const keep = new Set([...copy.graph!.input!, ...copy.graph!.output!].map((v) => v.name));
  const rename = new Map<string, string>();
  const r = (n: string) => {
    if (!n || keep.has(n)) return n;
    if (!rename.has(n)) rename.set(n, `t${rename.size}`);
    return rename.get(n)!;
  };
  copy.graph!.node!.forEach((n, i) => {
    n.name = `n${i}`;
    n.input = n.input!.map(r);
    n.output = n.output!.map(r);
  });
  copy.graph!.initializer!.forEach((t) => (t.name = r(t.name!)));
  return copy;
}

describe("fuseModel", () => {
  for (const [preset, padId] of [["tiny-bert", 0], ["tiny-xlmr", 1]] as Array<[ModelPresetName, number]>) {
    it(`${preset}: fuses every attention, layer norm and GELU, and keeps logits within 1e-3`, async () => {
      const dir = await ensureGeneratedModel(preset);
      const model = await loadModel(join(dir, "onnx", "model.onnx"));
      const { model: fused, report } = fuseModel(scrambleNames(model));
      expect(report).toEqual({ layerNorm: 5, gelu: 2, biasGelu: 2, skipLayerNorm: 4, attention: 2, multiHeadAttention: 0, embedLayerNorm: 1 });
      const ops = opTypes(fused);
      for (const gone of ["Softmax", "Erf", "ReduceMean", "Sqrt", "Transpose", "LayerNormalization"]) expect(ops.has(gone), gone).toBe(false);
      for (const op of ["Attention", "SkipLayerNormalization", "BiasGelu", "EmbedLayerNormalization"]) expect(ops.has(op), op).toBe(true);
      expect(fused.graph!.node!.length).toBeLessThan(model.graph!.node!.length / 4);
      expect(maxDiff(await logits(model, dir, padId), await logits(fused, dir, padId))).toBeLessThan(1e-3);
    });
  }

  for (const [preset, padId] of [["tiny-bert", 0], ["tiny-xlmr", 1]] as Array<[ModelPresetName, number]>) {
    it(`${preset}: rewrites attention to MultiHeadAttention, masked for padded batches and mask-free for unpadded ones`, async () => {
      const dir = await ensureGeneratedModel(preset);
      const model = await loadModel(join(dir, "onnx", "model.onnx"));
      const only = { layerNormAndGelu: false, biasGelu: false, skipLayerNorm: false, embedLayerNorm: false } as const;
      const masked = fuseModel(scrambleNames(model), { attention: "multihead", ...only });
      const unpadded = fuseModel(scrambleNames(model), { attention: "multihead-unpadded", ...only });
      for (const f of [masked, unpadded]) {
        expect(f.report).toEqual({ layerNorm: 0, gelu: 0, biasGelu: 0, skipLayerNorm: 0, attention: 0, multiHeadAttention: 2, embedLayerNorm: 0 });
        expect(opTypes(f.model).has("Softmax")).toBe(false);
        expect(opTypes(f.model).has("Erf")).toBe(true); // other fusions stayed off
      }
      // The padded batch (three pairs of different lengths): the masked rewrite matches.
      const reference = await logits(model, dir, padId);
      expect(maxDiff(reference, await logits(masked.model, dir, padId))).toBeLessThan(1e-4);
      // The mask-free rewrite is wrong on that batch (padding is attended to)…
      expect(maxDiff(reference, await logits(unpadded.model, dir, padId))).toBeGreaterThan(1e-3);
      // …and right for every pair on its own.
      const tokenizer = loadTokenizer(dir);
      const single = async (m: ModelProto, pair: [string, string]) => (await runBatch(await ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1 }), encodePairs(tokenizer, [pair], padId))).data;
      for (const pair of pairs) expect(maxDiff(await single(model, pair), await single(unpadded.model, pair))).toBeLessThan(1e-4);

      // flash-when-unpadded: one graph that is right for both, the weights not copied.
      const both = fuseModel(scrambleNames(model), { attention: "flash-when-unpadded", ...only });
      expect(both.report.multiHeadAttention).toBe(2);
      const ifs = both.model.graph!.node!.filter((n) => n.opType === "If");
      expect(ifs).toHaveLength(2);
      expect(ifs.every((n) => n.input![0] === ifs[0].input![0])).toBe(true); // one mask test shared by the layers
      expect(both.model.graph!.initializer!.length).toBeLessThanOrEqual(model.graph!.initializer!.length);
      // Bit for bit: the padded batch takes the exported branch, a single pair the flash one
      // (whose float rounding differs from the exported attention's, which tells them apart).
      expect(maxDiff(reference, await logits(both.model, dir, padId))).toBe(0);
      let flashDiffers = false;
      for (const pair of pairs) {
        expect(maxDiff(await single(unpadded.model, pair), await single(both.model, pair))).toBe(0);
        if (maxDiff(await single(model, pair), await single(both.model, pair)) > 0) flashDiffers = true;
      }
      expect(flashDiffers).toBe(true);
    });
  }

  it("rewrites attention to MultiHeadAttention in an int8 graph, leaving the quantized projections alone", async () => {
    const dir = await ensureGeneratedModel("tiny-bert");
    const model = await loadModel(join(dir, "onnx", "model.onnx"));
    const int8 = quantizeModel(model);
    const { model: rewritten, report } = fuseModel(int8, { attention: "multihead", layerNormAndGelu: false, biasGelu: false, skipLayerNorm: false, embedLayerNorm: false });
    expect(report.multiHeadAttention).toBe(2);
    const count = (m: ModelProto, op: string) => m.graph!.node!.filter((n) => n.opType === op).length;
    expect(count(rewritten, "MatMulInteger")).toBe(count(int8, "MatMulInteger"));
    expect(maxDiff(await logits(int8, dir, 0), await logits(rewritten, dir, 0))).toBeLessThan(1e-4);
  });

  it("can leave residual layer norms and GELU biases unfused while fusing attention", async () => {
    const dir = await ensureGeneratedModel("tiny-bert");
    const model = await loadModel(join(dir, "onnx", "model.onnx"));
    const { model: fused, report } = fuseModel(model, { skipLayerNorm: false, biasGelu: false });
    expect(report).toMatchObject({ skipLayerNorm: 0, biasGelu: 0, attention: 2, gelu: 2 });
    const ops = opTypes(fused);
    for (const op of ["Attention", "LayerNormalization", "Gelu"]) expect(ops.has(op), op).toBe(true);
    for (const op of ["SkipLayerNormalization", "BiasGelu"]) expect(ops.has(op), op).toBe(false);
    expect(maxDiff(await logits(model, dir, 0), await logits(fused, dir, 0))).toBeLessThan(1e-3);
  });

  it("quantizes a fused graph (Attention → QAttention) and fuses a quantized one (all but attention)", async () => {
    const dir = await ensureGeneratedModel("tiny-bert");
    const model = await loadModel(join(dir, "onnx", "model.onnx"));
    const fp32 = await logits(model, dir, 0);
    const int8 = await logits(quantizeModel(model), dir, 0);

    const fusedThenInt8 = quantizeModel(fuseModel(model).model);
    expect(opTypes(fusedThenInt8).has("QAttention")).toBe(true);
    expect(opTypes(fusedThenInt8).has("Attention")).toBe(false);
    const a = await logits(fusedThenInt8, dir, 0);

    const { model: int8ThenFused, report } = fuseModel(quantizeModel(model));
    expect(report.attention).toBe(0);
    expect(report.skipLayerNorm).toBe(4);
    const b = await logits(int8ThenFused, dir, 0);
    // Same int8 arithmetic as the unfused int8 graph, only the elementwise ops are fused.
    expect(maxDiff(b, int8)).toBeLessThan(1e-3);
    // QAttention quantizes the same weights, so it lands about as far from fp32 as int8 does.
    expect(maxDiff(a, fp32)).toBeLessThan(3 * Math.max(maxDiff(int8, fp32), 0.01));
  });

  it("fuses both exporter orderings of exact GELU and leaves look-alikes alone", async () => {
    const build = (variant: "half-first" | "mul-inverse" | "wrong-constant") => {
      const g = new GraphBuilder(["x"]);
      const erfIn = variant === "mul-inverse" ? g.op("Mul", ["x", g.scalar("c", Math.SQRT1_2)]) : g.op("Div", ["x", g.scalar("c", variant === "wrong-constant" ? 1.5 : Math.SQRT2)]);
      const plusOne = g.op("Add", [g.op("Erf", [erfIn]), g.scalar("one", 1)]);
      if (variant === "half-first") g.node("Mul", [g.op("Mul", ["x", g.scalar("half", 0.5)]), plusOne], ["y"]);
      else g.node("Mul", [g.op("Mul", ["x", plusOne]), g.scalar("half", 0.5)], ["y"]);
      return {
        irVersion: 8,
        opsetImport: [{ domain: "", version: 17 }],
        graph: { name: "g", node: g.nodes, initializer: g.initializers, input: [tensorValueInfo("x", DataType.FLOAT, [4])], output: [tensorValueInfo("y", DataType.FLOAT, [4])] },
      } as ModelProto;
    };
    const x = new ort.Tensor("float32", Float32Array.from([-2, -0.5, 0.3, 3]), [4]);
    for (const variant of ["half-first", "mul-inverse", "wrong-constant"] as const) {
      const model = build(variant);
      const { model: fused, report } = fuseModel(model);
      expect(report.gelu, variant).toBe(variant === "wrong-constant" ? 0 : 1);
      const run = async (m: ModelProto) => (await (await ort.InferenceSession.create(encodeModel(m))).run({ x })).y.data as Float32Array;
      expect(maxDiff(await run(model), await run(fused))).toBeLessThan(1e-6);
    }
  });
});
