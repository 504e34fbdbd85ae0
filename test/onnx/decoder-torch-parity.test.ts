import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { floatValues, loadModel, tensorDims } from "../../src/onnx/onnx-graph.js";
import { DecoderReranker } from "../../src/rerankers/decoder/decoder-reranker.js";
import { CrossEncoderReranker } from "../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { repoRoot } from "../support/shared-datasets.js";

const PYTHON = "/usr/bin/python3";
const hasTorch = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import torch"]).status === 0;

/** Writes the model's float initializers as one raw float32 file plus an index, for the torch reference. */
async function exportWeights(modelDir: string, out: string): Promise<void> {
  const model = await loadModel(join(modelDir, "onnx", "model.onnx"));
  const index: Record<string, { dims: number[]; offset: number; count: number }> = {};
  const fd = openSync(join(out, "weights.f32"), "w");
  let offset = 0;
  try {
    for (const t of model.graph!.initializer ?? []) {
      if (t.dataType !== 1 || !t.name || !/^(model\.|lm_head|head\.|classifier\.)/.test(t.name)) continue;
      const v = floatValues(t);
      writeSync(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      index[t.name] = { dims: tensorDims(t), offset, count: v.length };
      offset += v.length;
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(join(out, "weights.json"), JSON.stringify(index));
  copyFileSync(join(modelDir, "config.json"), join(out, "config.json"));
}

// Debian's python3-torch is installed by scripts/install-services.sh here and in CI; without it
// this file fails rather than skipping, so a missing oracle is never mistaken for a pass.
describe("decoder rerankers vs an independent torch (float64) implementation", () => {
  for (const preset of ["tiny-qwen3", "tiny-qwen2"] as const) {
    it(`${preset}: a left-padded batch's label logits equal torch's unpadded ones within 1e-4`, async () => {
      expect(hasTorch, `${PYTHON} with torch (scripts/install-services.sh installs python3-torch)`).toBe(true);
      const dir = await ensureGeneratedModel(preset);
      const work = mkdtempSync(join(tmpdir(), "winnow-torch-ref-"));
      const r = await DecoderReranker.load({ model: dir, dtype: "fp32", batchTokens: 1 << 16 });
      try {
        const docs = ["Scurvy results from a lack of vitamin C.", "北京 🙂 مرحبا e\u0301", "Lind's 1747 trial: oranges and lemons cured scurvy within days; cider, vinegar and sea water did not."];
        const m = r.model!;
        const enc = m.encoder.encode("Judge strictly", "what causes scurvy?", docs);
        expect(new Set(enc.units.map((u) => u.tokens)).size).toBe(docs.length); // padded batch
        await exportWeights(dir, work);
        writeFileSync(join(work, "prompts.json"), JSON.stringify({ sequences: enc.units.map((u) => Array.from(u.ids)), labels: m.labelIds }));
        const py = spawnSync(PYTHON, [join(repoRoot, "scripts/reference/qwen_reference.py"), work], { encoding: "utf8", maxBuffer: 1 << 24 });
        expect(py.status, py.stderr).toBe(0);
        const ref = (JSON.parse(py.stdout) as { logits: number[][] }).logits;
        const { logits } = await r.scorePrompts("Judge strictly", "what causes scurvy?", docs);
        for (let i = 0; i < docs.length; i++) expect(Math.abs(logits[i] - (ref[i][1] - ref[i][0]))).toBeLessThan(1e-4);
      } finally {
        await r.close();
        rmSync(work, { recursive: true, force: true });
      }
    }, 120_000);
  }
});

describe("ModernBERT cross-encoder vs an independent torch (float64) implementation", () => {
  it("tiny-modernbert: padded batches (global and windowed local layers) equal torch's unpadded logits within 1e-4", async () => {
    expect(hasTorch, `${PYTHON} with torch (scripts/install-services.sh installs python3-torch)`).toBe(true);
    const dir = await ensureGeneratedModel("tiny-modernbert");
    const work = mkdtempSync(join(tmpdir(), "winnow-torch-ref-"));
    const r = await CrossEncoderReranker.load({ model: dir, dtype: "fp32", scores: "logit", batchTokens: 1 << 16 });
    try {
      const docs = ["Scurvy results from a lack of vitamin C.", "北京 🙂 مرحبا", "Lind's 1747 trial: oranges and lemons cured scurvy within days; cider, vinegar and sea water did not."];
      const enc = r.model!.encoder.encode("what causes scurvy?", docs);
      await exportWeights(dir, work);
      writeFileSync(join(work, "prompts.json"), JSON.stringify({ sequences: enc.units.map((u) => Array.from(u.ids)) }));
      const py = spawnSync(PYTHON, [join(repoRoot, "scripts/reference/modernbert_reference.py"), work], { encoding: "utf8", maxBuffer: 1 << 24, cwd: join(repoRoot, "scripts/reference"), env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
      expect(py.status, py.stderr).toBe(0);
      const ref = (JSON.parse(py.stdout) as { logits: number[][] }).logits;
      const out = await r.rerank("what causes scurvy?", docs);
      for (const row of out) expect(Math.abs(row.score - ref[row.index][0])).toBeLessThan(1e-4);
    } finally {
      await r.close();
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
