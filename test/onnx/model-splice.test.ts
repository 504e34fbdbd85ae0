import { describe, expect, it } from "vitest";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { readModelSkeleton, writeModelWithNodes } from "../../src/onnx/model-splice.js";
import { encodeModel, floatValues, loadModel, type ModelProto } from "../../src/onnx/onnx-graph.js";
import { fuseModel } from "../../src/onnx/fuse.js";
import { encodePairs, loadTokenizer, runBatch } from "./model-session.js";

const pairs: Array<[string, string]> = [
  ["what causes scurvy?", "Scurvy results from a lack of vitamin C (ascorbic acid) in the diet."],
  ["q", "d"],
];

async function logitsOf(model: string | Uint8Array, dir: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model as string, { intraOpNumThreads: 1 });
  return (await runBatch(session, encodePairs(loadTokenizer(dir), pairs, 0))).data;
}

describe("model splice (rewrite nodes, copy weights from disk)", () => {
  it("reads a skeleton with stubs for large weights, and writes a file that scores exactly like the original", async () => {
    const dir = await ensureGeneratedModel("tiny-bert");
    const path = join(dir, "onnx", "model.onnx");
    const skeleton = await readModelSkeleton(path);
    const full = await loadModel(path);
    expect(skeleton.model.graph!.node!.length).toBe(full.graph!.node!.length);
    expect(skeleton.model.graph!.initializer!.map((t) => t.name)).toEqual(full.graph!.initializer!.map((t) => t.name));
    expect(skeleton.model.opsetImport).toEqual(full.opsetImport);
    const words = skeleton.model.graph!.initializer!.find((t) => t.name === "bert.embeddings.word_embeddings.weight")!;
    expect(words.dims!.map(Number)).toEqual([30522, 128]);
    expect(() => floatValues(words)).toThrow(/not loaded/);

    const work = await mkdtemp(join(tmpdir(), "winnow-splice-test-"));
    try {
      const same = join(work, "same.onnx");
      await writeModelWithNodes(skeleton, skeleton.model.graph!.node!, [], same);
      expect((await stat(same)).size).toBe((await stat(path)).size);
      expect(await logitsOf(same, dir)).toEqual(await logitsOf(path, dir));

      // The rewrite used by the cross-encoder: new nodes (If branches, com.microsoft ops), same weights.
      const options = { attention: "flash-when-unpadded", layerNormAndGelu: false, biasGelu: false, skipLayerNorm: false, embedLayerNorm: false } as const;
      const fused = fuseModel(skeleton.model, options);
      expect(fused.report.multiHeadAttention).toBe(2);
      const spliced = join(work, "flash.onnx");
      await writeModelWithNodes(skeleton, fused.model.graph!.node!, [{ domain: "com.microsoft", version: 1 }], spliced);
      const reference: ModelProto = fuseModel(full, options).model;
      expect(await logitsOf(spliced, dir)).toEqual(await logitsOf(encodeModel(reference), dir));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("rejects a missing or malformed file with typed errors", async () => {
    const work = await mkdtemp(join(tmpdir(), "winnow-splice-test-"));
    try {
      await expect(readModelSkeleton(join(work, "nope.onnx"))).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
      await writeFile(join(work, "bad.onnx"), Buffer.from([0x3a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      await expect(readModelSkeleton(join(work, "bad.onnx"))).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
      await writeFile(join(work, "nograph.onnx"), Buffer.from([0x08, 0x07]));
      await expect(readModelSkeleton(join(work, "nograph.onnx"))).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED", message: expect.stringContaining("no graph") });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
