import { describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { ReferenceDecoder, ReferenceModernBert } from "../../src/onnx/qwen-reference.js";
import { DecoderReranker } from "../../src/rerankers/decoder/decoder-reranker.js";
import { CrossEncoderReranker } from "../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { planBatches } from "../../src/rerankers/cross-encoder/batch-plan.js";
import { errorOverSpread } from "./logit-error.js";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fuseFile } from "../../src/onnx/fuse.js";

const query = "what causes scurvy?";
// Lengths differ by tens of tokens, so one batch holds left-padded (decoder) or right-padded (encoder) rows.
const docs = [
  "Scurvy results from a lack of vitamin C (ascorbic acid) in the diet.",
  "naïve café — 北京大学 🙂 مرحبا",
  "d",
  "Sailors on long voyages suffered from scurvy until citrus fruit was carried aboard; James Lind's 1747 trial showed oranges and lemons cured it within days.",
];

describe("decoder rerankers vs the float64 reference pass", () => {
  for (const preset of ["tiny-qwen3", "tiny-qwen2"] as const) {
    it(`${preset}: label log-odds of a left-padded batch agree with unpadded reference runs within 1e-4`, async () => {
      const dir = await ensureGeneratedModel(preset);
      const r = await DecoderReranker.load({ model: dir, dtype: "fp32", batchTokens: 1 << 16 });
      try {
        const m = r.model!;
        const enc = m.encoder.encode("prefer reviews", query, docs);
        const lengths = enc.units.map((u) => u.tokens);
        expect(new Set(lengths).size).toBe(docs.length); // all different: the rows are padded
        expect(planBatches(lengths, 1 << 16)).toHaveLength(1); // and run as one batch
        const { logits } = await r.scorePrompts("prefer reviews", query, docs);
        const ref = await ReferenceDecoder.load(dir);
        for (let i = 0; i < docs.length; i++) {
          const [no, yes] = ref.lastLogits(Array.from(enc.units[i].ids), m.labelIds);
          expect(Math.abs(logits[i] - (yes - no))).toBeLessThan(1e-4);
        }
        // The logits spread (a constant score would pass the parity check trivially).
        expect(Math.max(...logits) - Math.min(...logits)).toBeGreaterThan(0.05);
      } finally {
        await r.close();
      }
    }, 120_000);
  }

  it("tiny-qwen3: the last-position lm_head rewrite runs by default and changes no score", async () => {
    const dir = await ensureGeneratedModel("tiny-qwen3");
    const rewritten = await DecoderReranker.load({ model: dir, dtype: "fp32" });
    const exported = await DecoderReranker.load({ model: dir, dtype: "fp32", lastPositionOnly: false });
    try {
      expect(rewritten.model!.session.lastPosition).toEqual({ enabled: true });
      expect(exported.model!.session.lastPosition.enabled).toBe(false);
      const a = (await rewritten.scorePrompts(undefined, query, docs)).logits;
      const b = (await exported.scorePrompts(undefined, query, docs)).logits;
      for (let i = 0; i < docs.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
    } finally {
      await rewritten.close();
      await exported.close();
    }
  }, 120_000);

  it("tiny-qwen3 int8 stays close to fp32 (error over spread < 0.15)", async () => {
    const dir = await ensureGeneratedModel("tiny-qwen3");
    const fp32 = await DecoderReranker.load({ model: dir, dtype: "fp32" });
    const int8 = await DecoderReranker.load({ model: dir, dtype: "int8" });
    try {
      expect(int8.model!.dtype).toBe("int8");
      const a = (await fp32.scorePrompts(undefined, query, docs)).logits;
      const b = (await int8.scorePrompts(undefined, query, docs)).logits;
      expect(Array.from(a)).not.toEqual(Array.from(b)); // really another graph
      expect(errorOverSpread(Array.from(a), Array.from(b))).toBeLessThan(0.15);
    } finally {
      await fp32.close();
      await int8.close();
    }
  }, 120_000);
});

describe("ModernBERT cross-encoder vs the float64 reference pass", () => {
  it("tiny-modernbert: logits of padded batches (global and 8-token local layers) agree within 1e-4; the attention rewrite is skipped with a reason", async () => {
    const dir = await ensureGeneratedModel("tiny-modernbert");
    const r = await CrossEncoderReranker.load({ model: dir, dtype: "fp32", scores: "logit", batchTokens: 1 << 16 });
    try {
      const m = r.model!;
      expect(m.session.flashAttention.enabled).toBe(false);
      expect(m.session.flashAttention).toHaveProperty("reason");
      const enc = m.encoder.encode(query, docs);
      expect(Math.max(...enc.units.map((u) => u.tokens))).toBeGreaterThan(16); // longer than the local window
      const out = await r.rerank(query, docs);
      const ref = await ReferenceModernBert.load(dir);
      for (const row of out) {
        const expected = ref.logits(Array.from(enc.units[row.index].ids))[0];
        expect(Math.abs(row.score - expected)).toBeLessThan(1e-4);
      }
      expect(Math.max(...out.map((o) => o.score)) - Math.min(...out.map((o) => o.score))).toBeGreaterThan(0.05);
    } finally {
      await r.close();
    }
  }, 120_000);
});

describe("graph rewrites on the new graphs never change a score", () => {
  it("fuseFile (winnow optimize) fuses what it recognizes in ModernBERT (its GELUs) and the decoder (nothing), scores unchanged; int8 ModernBERT stays close", async () => {
    const work = mkdtempSync(join(tmpdir(), "winnow-fuse-new-"));
    try {
      for (const preset of ["tiny-modernbert", "tiny-qwen3"] as const) {
        const dir = await ensureGeneratedModel(preset);
        const fused = join(work, preset);
        cpSync(dir, fused, { recursive: true });
        const report = await fuseFile(join(dir, "onnx", "model.onnx"), join(fused, "onnx", "model.onnx"));
        expect(report.attention + report.multiHeadAttention).toBe(0); // attention left as exported
        if (preset === "tiny-modernbert") expect(report.gelu).toBeGreaterThan(0);
        const Cls = preset === "tiny-qwen3" ? DecoderReranker : CrossEncoderReranker;
        const a = await Cls.load({ model: dir, dtype: "fp32", scores: "logit" });
        const b = await Cls.load({ model: fused, dtype: "fp32", scores: "logit" });
        try {
          const byIndex = async (r: typeof a) => (await r.rerank(query, docs)).sort((x, y) => x.index - y.index).map((x) => x.score);
          const [sa, sb] = [await byIndex(a), await byIndex(b)];
          for (let i = 0; i < docs.length; i++) expect(Math.abs(sa[i] - sb[i])).toBeLessThan(1e-5);
        } finally {
          await a.close();
          await b.close();
        }
      }
      const dir = await ensureGeneratedModel("tiny-modernbert");
      const fp32 = await CrossEncoderReranker.load({ model: dir, dtype: "fp32", scores: "logit" });
      const int8 = await CrossEncoderReranker.load({ model: dir, dtype: "int8", scores: "logit" });
      try {
        const byIndex = async (r: CrossEncoderReranker) => (await r.rerank(query, docs)).sort((x, y) => x.index - y.index).map((x) => x.score);
        const [a, b] = [await byIndex(fp32), await byIndex(int8)];
        expect(a).not.toEqual(b);
        expect(errorOverSpread(a, b)).toBeLessThan(0.15);
      } finally {
        await fp32.close();
        await int8.close();
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);
});
