import { describe, expect, it } from "vitest";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { ReferenceBert, erf } from "../../src/onnx/reference-forward.js";
import type { ModelPresetName } from "../../src/onnx/presets.js";
import { encodePairs, loadTokenizer, runBatch } from "./model-session.js";

const pairs: Array<[string, string]> = [
  ["what causes scurvy?", "Scurvy results from a lack of vitamin C (ascorbic acid) in the diet."],
  ["Héllo wörld", "naïve café — 北京 🙂"],
  ["q", "d"],
];

describe("erf", () => {
  it("matches tabulated values to 1e-14", () => {
    const table: Array<[number, number]> = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-1, -0.8427007929497149],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [5, 0.9999999999984626],
    ];
    for (const [x, y] of table) expect(Math.abs(erf(x) - y)).toBeLessThan(1e-14);
  });
});

describe("reference forward pass vs ONNX Runtime", () => {
  for (const preset of ["tiny-bert", "tiny-bert-2label", "tiny-xlmr"] as ModelPresetName[]) {
    it(`${preset}: logits agree within 1e-4 on padded pairs`, async () => {
      const dir = await ensureGeneratedModel(preset);
      const tok = loadTokenizer(dir);
      const padId = preset === "tiny-xlmr" ? 1 : 0;
      const batch = encodePairs(tok, pairs, padId);
      expect(batch.mask.some((row) => row.includes(0))).toBe(true); // the batch really is padded
      const session = await ort.InferenceSession.create(join(dir, "onnx", "model.onnx"));
      const out = await runBatch(session, batch);
      const labels = out.dims[1];
      const ref = await ReferenceBert.load(dir);
      let maxDiff = 0;
      for (let i = 0; i < pairs.length; i++) {
        const expected = ref.logits(batch.ids[i], batch.mask[i], batch.types[i]);
        expect(expected).toHaveLength(labels);
        for (let l = 0; l < labels; l++) maxDiff = Math.max(maxDiff, Math.abs(expected[l] - out.data[i * labels + l]));
      }
      expect(maxDiff).toBeLessThan(1e-4);
    });
  }

  it("tiny-bi-encoder: last_hidden_state agrees within 1e-4 at every real token", async () => {
    const dir = await ensureGeneratedModel("tiny-bi-encoder");
    const tok = loadTokenizer(dir);
    const batch = encodePairs(tok, pairs.slice(0, 2), 0);
    const session = await ort.InferenceSession.create(join(dir, "onnx", "model.onnx"));
    const out = await runBatch(session, batch);
    const [, S, H] = out.dims;
    const ref = await ReferenceBert.load(dir);
    let maxDiff = 0;
    for (let i = 0; i < 2; i++) {
      const hidden = ref.hiddenStates(batch.ids[i], batch.mask[i], batch.types[i]);
      for (let t = 0; t < S; t++) {
        if (!batch.mask[i][t]) continue;
        for (let h = 0; h < H; h++) maxDiff = Math.max(maxDiff, Math.abs(hidden[t][h] - out.data[(i * S + t) * H + h]));
      }
    }
    expect(maxDiff).toBeLessThan(1e-4);
  });
});
