import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readArchitecture } from "../../src/finetune/architecture.js";
import { loadModelWeights, toGraphWeights } from "../../src/finetune/model-weights.js";
import { findPythonWithTorch } from "../../src/finetune/python-runtime.js";
import { readFloatTensor, readSafetensorsHeader, writeSafetensors } from "../../src/finetune/safetensors.js";
import { runTrainer } from "../../src/finetune/trainer-process.js";
import { TRAINER_PROTOCOL, packedRowTensors, writeTensorSet, type PackedRows } from "../../src/finetune/trainer-protocol.js";
import { buildModel } from "../../src/onnx/bert-graph.js";
import { encodePairBatch, loadModelTokenizer, scorePairs } from "../../src/onnx/fidelity.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { encodeModel } from "../../src/onnx/onnx-graph.js";

const PAIRS: Array<[string, string]> = [
  ["what causes fever in children", "Fever in children is most often caused by viral infections of the upper airways."],
  ["protein folding", "The energy landscape theory explains how proteins fold into their native structures quickly."],
  ["vitamin d bone density", "Unrelated text about aeronautics."],
  ["a longer query about statins and the risk of myopathy in older patients", "Statins lower cholesterol; myopathy is a known adverse effect, more common at high doses."],
];

/** The trainer's forward pass (eval mode) on `pairs` against the ONNX graph Winnow builds from the same weights. */
async function parity(preset: "tiny-bert" | "tiny-xlmr", dir: string, python: string): Promise<number> {
  const model = await ensureGeneratedModel(preset);
  const arch = await readArchitecture(join(model, "config.json"));
  const { weights } = await loadModelWeights(model, arch);
  const work = await mkdtemp(join(dir, `${preset}-`));
  const init = join(work, "init.safetensors");
  await writeSafetensors(init, weights);
  const { tokenizer, padId } = loadModelTokenizer(model);
  const batch = encodePairBatch(tokenizer, PAIRS, padId, 64);
  // Unpadded rows for the trainer (it pads itself); the ONNX side gets the padded batch.
  const rows: PackedRows = { ids: [], types: [], offsets: [0] };
  batch.ids.forEach((ids, i) => {
    const n = batch.mask[i].reduce((a, b) => a + b, 0);
    rows.ids.push(...ids.slice(0, n));
    rows.types.push(...batch.types[i].slice(0, n));
    rows.offsets.push(rows.ids.length);
  });
  const header = await writeTensorSet(work, "rows", "rows", packedRowTensors(rows));
  await runTrainer({ protocol: TRAINER_PROTOCOL, mode: "forward", architecture: arch.trainerConfig, init, rows: header, out: work }, { python, workDir: work });
  const torchScores = new Float32Array(new Uint8Array(readFileSync(join(work, "scores.f32"))).buffer);
  const graph = buildModel(arch.preset, toGraphWeights(weights), { padTokenId: arch.padTokenId });
  const session = await ort.InferenceSession.create(encodeModel(graph));
  const onnxScores = await scorePairs(session, batch);
  await session.release();
  expect(torchScores.length).toBe(PAIRS.length);
  // The scores differ between pairs, so equal vectors are not a constant coincidence.
  expect(Math.max(...onnxScores) - Math.min(...onnxScores)).toBeGreaterThan(1e-3);
  return Math.max(...Array.from(onnxScores, (s, i) => Math.abs(s - torchScores[i])));
}

describe("the trainer's network and Winnow's ONNX graph", () => {
  let dir: string;
  let python: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-ft-parity-"));
    python = (await findPythonWithTorch()).python;
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("BERT: the exported graph's logits equal the trainer's forward pass to 1e-4", async () => {
    expect(await parity("tiny-bert", dir, python)).toBeLessThan(1e-4);
  }, 120_000);

  it("XLM-R: the same, with RoBERTa positions and the classification head", async () => {
    expect(await parity("tiny-xlmr", dir, python)).toBeLessThan(1e-4);
  }, 120_000);

  it("loading weights into the trainer and saving them untrained reproduces every tensor exactly", async () => {
    const model = await ensureGeneratedModel("tiny-bert");
    const arch = await readArchitecture(join(model, "config.json"));
    const { weights } = await loadModelWeights(model, arch);
    const work = await mkdtemp(join(dir, "roundtrip-"));
    const init = join(work, "init.safetensors");
    await writeSafetensors(init, weights, { note: "roundtrip" });
    await runTrainer({ protocol: TRAINER_PROTOCOL, mode: "roundtrip", architecture: arch.trainerConfig, init, out: work }, { python, workDir: work });
    const saved = join(work, "model.safetensors");
    const header = await readSafetensorsHeader(saved);
    expect([...header.tensors.keys()].sort()).toEqual(arch.parameters.map((p) => p.name).sort());
    for (const p of arch.parameters) {
      expect(header.tensors.get(p.name)!.shape).toEqual(p.shape);
      const back = await readFloatTensor(saved, header, p.name);
      expect(Buffer.from(back.buffer).equals(Buffer.from(weights.get(p.name)!.data.buffer))).toBe(true);
    }
  }, 120_000);
});
