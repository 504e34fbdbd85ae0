import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AutoModelForSequenceClassification, AutoTokenizer, env } from "@huggingface/transformers";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import type { RerankOptions } from "../../../src/core/types.js";
import { CrossEncoderReranker } from "../../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { createReranker, servingSpec } from "../../../src/rerankers/registry.js";
import { fuseFile } from "../../../src/onnx/fuse.js";
import { isBatchableReranker } from "../../../src/core/batch-scorer.js";
import { MemoryScoreCache } from "../../../src/cache/memory-score-cache.js";

const QUERY = "how do cats regulate body temperature";
const DOCS = [
  "Cats pant rarely; they mostly regulate temperature by grooming and seeking shade.",
  "Quantum chromodynamics describes the strong interaction between quarks and gluons.",
  "Body temperature in felines is kept near 38.5 °C.",
  "A short one.",
  "Thermoregulation in mammals involves sweating, panting and vasodilation, and behavioural responses such as burrowing.",
];

/** Reference scores from transformers.js, the implementation users copy: same folder, same pairs. */
async function referenceLogits(folder: string, query: string, docs: string[]): Promise<number[][]> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = resolve(folder, "..") + "/";
  const name = folder.split("/").pop()!;
  const tok = await AutoTokenizer.from_pretrained(name);
  const model = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: "fp32" });
  const inputs = tok(new Array(docs.length).fill(query), { text_pair: docs, padding: true, truncation: true });
  const out = await model(inputs);
  const [rows, labels] = out.logits.dims as number[];
  const data = Array.from(out.logits.data as Float32Array);
  await model.dispose();
  return Array.from({ length: rows }, (_, r) => data.slice(r * labels, (r + 1) * labels));
}

describe("CrossEncoderReranker on generated models", () => {
  let bert: string;
  let xlmr: string;
  let twoLabel: string;
  beforeAll(async () => {
    [bert, xlmr, twoLabel] = await Promise.all([ensureGeneratedModel("tiny-bert"), ensureGeneratedModel("tiny-xlmr"), ensureGeneratedModel("tiny-bert-2label")]);
  });

  it.each([
    ["tiny-bert (token_type_ids)", () => bert],
    ["tiny-xlmr (no token_type_ids)", () => xlmr],
  ])("matches transformers.js logits for %s, in batches padded to different widths", async (_label, folder) => {
    const ref = await referenceLogits(folder(), QUERY, DOCS);
    // batchTokens small enough that pairs land in several batches, each padded differently.
    const r = await CrossEncoderReranker.load({ model: folder(), scores: "logit", batchTokens: 64 });
    try {
      const results = await r.rerank(QUERY, DOCS);
      for (const res of results) {
        expect(res.score).toBeCloseTo(ref[res.index][0], 4);
        expect(res.details).toMatchObject({ windows: 1 });
      }
      // Sorted by score, descending.
      for (let i = 1; i < results.length; i++) expect(results[i - 1].score).toBeGreaterThanOrEqual(results[i].score);
      expect(r.model!.session.takesTokenTypeIds).toBe(folder() === bert);
      // Both graphs took part: unpadded batches (single pairs here) through the flash-attention
      // rewrite, padded ones through the graph as exported; both matched the reference above.
      expect(r.model!.session.flashAttention).toEqual({ enabled: true });
      const { runs, unpaddedRuns } = r.model!.session.stats;
      expect(unpaddedRuns).toBeGreaterThan(0);
      expect(runs).toBeGreaterThan(unpaddedRuns);
    } finally {
      await r.close();
    }
  });

  it("reduces a 2-label model to softmax of label 1, as transformers.js computes it", async () => {
    const ref = await referenceLogits(twoLabel, QUERY, DOCS);
    const r = await CrossEncoderReranker.load({ model: twoLabel });
    try {
      const results = await r.rerank(QUERY, DOCS);
      for (const res of results) {
        const [l0, l1] = ref[res.index];
        const softmax1 = Math.exp(l1) / (Math.exp(l0) + Math.exp(l1));
        expect(res.score).toBeCloseTo(softmax1, 5);
        expect(res.details!.logit as number).toBeCloseTo(l1 - l0, 4);
      }
    } finally {
      await r.close();
    }
  });

  describe("with one loaded tiny-bert", () => {
    let r: CrossEncoderReranker;
    beforeAll(async () => {
      r = await CrossEncoderReranker.load({ model: bert, maxLength: 48, maxChunksPerDoc: 3, windowOverlap: 4 });
    });
    afterAll(async () => {
      await r.close();
    });

    it("scores long documents by the max over windows and says how many it scored", async () => {
      const long = Array.from({ length: 60 }, (_, i) => `word${i % 7} filler text`).join(" ");
      const [res] = await r.rerank("cats", [long]);
      expect(res.details!.windows).toBe(3);
      // Each window scored alone: the reported logit is their max.
      const prepared = await r.batchScorer.prepare("cats", [long]);
      const logits = await r.batchScorer.scoreUnits(prepared.units);
      expect(prepared.units.every((u) => u.tokens <= 48)).toBe(true);
      expect(res.details!.logit as number).toBeCloseTo(Math.max(...logits), 5);
      const truncated = await CrossEncoderReranker.load({ model: bert, maxLength: 48, truncate: true });
      try {
        const [t] = await truncated.rerank("cats", [long]);
        expect(t.details!.windows).toBe(1);
        expect(t.details!.logit as number).toBeCloseTo(logits[0], 5);
      } finally {
        await truncated.close();
      }
    });

    it("normalizes with the sigmoid of the logit and honours topN and returnDocuments", async () => {
      const res = await r.rerank({ text: QUERY }, DOCS.map((text, i) => ({ id: `d${i}`, text })), { topN: 2, returnDocuments: false });
      expect(res).toHaveLength(2);
      for (const x of res) {
        expect(x.document).toBeUndefined();
        expect(x.id).toBe(`d${x.index}`);
        expect(x.score).toBeCloseTo(1 / (1 + Math.exp(-(x.details!.logit as number))), 6);
      }
    });

    it("returns an empty list for no candidates and rejects bad input with typed errors", async () => {
      expect(await r.rerank("q", [])).toEqual([]);
      await expect(r.rerank("   ", ["x"])).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "query" } });
      await expect(r.rerank("q", [{ id: "a", text: 42 as unknown as string }])).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "candidates[0].text" } });
      await expect(r.rerank("q", ["x"], { topN: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "topN" } });
      await expect(r.rerank("q", ["x"], { family: { "cross-encoder": { scores: "calibrated" } } })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    });

    it("stops between batches when the signal fires", async () => {
      const ctrl = new AbortController();
      ctrl.abort();
      await expect(r.rerank("q", DOCS, { signal: ctrl.signal })).rejects.toMatchObject({ code: "ABORTED" });
    });

    it("exposes a BatchScorer whose prepare/score/normalize reproduce rerank", async () => {
      expect(isBatchableReranker(r)).toBe(true);
      expect(r.batchScorer.id).toContain("/fp32/48");
      const prepared = await r.batchScorer.prepare(QUERY, DOCS);
      expect(prepared.texts).toBe(DOCS.length);
      expect(prepared.tokens).toBe(prepared.units.reduce((s, u) => s + u.tokens, 0));
      const logits = await r.batchScorer.scoreUnits(prepared.units);
      const results = await r.rerank(QUERY, DOCS);
      for (const res of results) {
        const u = Array.from(prepared.owner).indexOf(res.index);
        expect(r.batchScorer.normalize(logits[u])).toBeCloseTo(res.score, 6);
      }
    });
  });

  it("serves repeated pairs from the score cache, keyed by model settings", async () => {
    const cache = new MemoryScoreCache();
    const r = await CrossEncoderReranker.load({ model: bert, cache });
    try {
      const first = await r.rerank(QUERY, DOCS);
      expect(cache.stats()).toMatchObject({ hits: 0, misses: DOCS.length });
      const second = await r.rerank(QUERY, [...DOCS, "a new document"]);
      expect(cache.stats()).toMatchObject({ hits: DOCS.length, misses: DOCS.length + 1 });
      for (const a of first) {
        const b = second.find((x) => x.index === a.index)!;
        expect(b.score).toBe(a.score);
        expect(b.details).toMatchObject({ cached: true });
      }
      // Another dtype is another scorer: no shared entries.
      const int8 = await CrossEncoderReranker.load({ model: bert, cache, dtype: "int8" });
      await int8.rerank(QUERY, DOCS);
      expect(cache.stats().hits).toBe(DOCS.length);
      await int8.close();
    } finally {
      await r.close();
    }
  });

  it("takes one call's windowing and score kind under family[\"cross-encoder\"], each part of the cache key, and names a bad one", async () => {
    const cache = new MemoryScoreCache();
    const r = await CrossEncoderReranker.load({ model: bert, cache, maxLength: 64 });
    const long = `${QUERY} ${"solar panels convert light into electricity ".repeat(40)}`;
    try {
      const windowed = await r.rerank(QUERY, [long]);
      expect(windowed[0].details?.windows as number).toBeGreaterThan(1);
      const cut = await r.rerank(QUERY, [long], { family: { "cross-encoder": { truncate: true } } });
      expect(cut[0].details).toMatchObject({ windows: 1, cached: false });
      const logit = await r.rerank(QUERY, [long], { family: { "cross-encoder": { scores: "logit", truncate: true } } });
      expect(logit[0].details?.cached).toBe(false);
      expect(logit[0].score).toBeCloseTo(cut[0].details!.logit as number, 6);
      const left = await r.rerank(QUERY, [long], { family: { "cross-encoder": { truncate: true, truncationDirection: "left" } } });
      expect(left[0].details?.cached).toBe(false);
      // The same options again: every one of them is answered from the cache.
      for (const family of [undefined, { "cross-encoder": { truncate: true } }, { "cross-encoder": { scores: "logit" as const, truncate: true } }]) {
        expect((await r.rerank(QUERY, [long], { family }))[0].details).toEqual({ cached: true });
      }
      const bad: Array<[unknown, string]> = [
        [{ trunc: true }, 'family["cross-encoder"].trunc'],
        [{ maxChunksPerDoc: 0 }, 'family["cross-encoder"].maxChunksPerDoc'],
        [{ truncationDirection: "up" }, 'family["cross-encoder"].truncationDirection'],
        ["yes", 'family["cross-encoder"]'],
      ];
      for (const [o, field] of bad) {
        const family = { "cross-encoder": o } as RerankOptions["family"];
        await expect(r.rerank(QUERY, [long], { family })).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field } });
      }
    } finally {
      await r.close();
    }
  });

  it("applies a calibration when scores are calibrated", async () => {
    const r = await CrossEncoderReranker.load({ model: bert, scores: "calibrated", calibration: { kind: "platt", a: 2, b: -1 } });
    try {
      for (const x of await r.rerank(QUERY, DOCS)) {
        expect(x.score).toBeCloseTo(1 / (1 + Math.exp(-(2 * (x.details!.logit as number) - 1))), 6);
      }
    } finally {
      await r.close();
    }
  });

  it("is created through the registry and rejects unknown or bad options naming the field", async () => {
    const r = await createReranker({ type: "cross-encoder", model: bert, dtype: "int8" });
    try {
      expect(r.name).toBe(`cross-encoder:${bert}`);
      expect((await r.rerank(QUERY, DOCS)).length).toBe(DOCS.length);
    } finally {
      await r.close?.();
    }
    await expect(createReranker({ type: "cross-encoder", model: bert, batchToken: 10 })).rejects.toMatchObject({ code: "CONFIG_INVALID", message: expect.stringContaining("batchToken") });
    await expect(createReranker({ type: "cross-encoder", model: bert, dtype: "bf16" })).rejects.toMatchObject({ code: "CONFIG_INVALID", details: { field: "dtype" } });
    // fp16 is a dtype (for accelerators); a folder without its file says which one is missing.
    await expect(createReranker({ type: "cross-encoder", model: bert, dtype: "fp16" })).rejects.toMatchObject({ code: "MODEL_NOT_FOUND", message: expect.stringContaining("onnx/model_fp16.onnx") });
    await expect(createReranker({ type: "cross-encoder", model: bert, maxLength: 4096 })).rejects.toMatchObject({ code: "CONFIG_INVALID", details: { field: "maxLength", max: 512 } });
    await expect(createReranker({ type: "cross-encoder", model: bert, spinWait: "no" })).rejects.toMatchObject({ code: "CONFIG_INVALID", details: { field: "spinWait" } });
  });

  it("scores the same with ONNX Runtime's spinning off (how winnow serve loads cross-encoders)", async () => {
    const spec = servingSpec({ type: "cross-encoder", model: bert });
    expect(spec).toMatchObject({ spinWait: false });
    // An explicit choice and other families are left alone.
    expect(servingSpec({ type: "cross-encoder", model: bert, spinWait: true })).toMatchObject({ spinWait: true });
    expect(servingSpec({ type: "bm25" })).toEqual({ type: "bm25" });
    const quiet = await createReranker(spec);
    const spinning = await createReranker({ type: "cross-encoder", model: bert });
    try {
      const [a, b] = [await quiet.rerank(QUERY, DOCS), await spinning.rerank(QUERY, DOCS)];
      expect(a.map((r) => r.index)).toEqual(b.map((r) => r.index));
      a.forEach((r, i) => expect(r.score).toBeCloseTo(b[i].score, 6));
    } finally {
      await quiet.close?.();
      await spinning.close?.();
    }
  });

  it("scores the same without the flash-attention session, and sends only unpadded batches to it", async () => {
    const docs = [...DOCS, DOCS[0], DOCS[0]]; // two equal-length pairs can share an unpadded batch
    const flash = await CrossEncoderReranker.load({ model: bert, scores: "logit", batchTokens: 64 });
    const plain = await CrossEncoderReranker.load({ model: bert, scores: "logit", batchTokens: 64, flashAttention: false });
    try {
      const [a, b] = [await flash.rerank(QUERY, docs), await plain.rerank(QUERY, docs)];
      const byIndex = new Map(b.map((r) => [r.index, r.score]));
      for (const r of a) expect(r.score).toBeCloseTo(byIndex.get(r.index)!, 4);
      expect(plain.model!.session.flashAttention).toEqual({ enabled: false, reason: expect.stringContaining("flashAttention: false") });
      expect(plain.model!.session.stats.unpaddedRuns).toBe(0);
      const s = flash.model!.session.stats;
      expect(s.runs).toBe(plain.model!.session.stats.runs);
      expect(s.unpaddedRuns).toBeGreaterThan(0);
      expect(s.unpaddedRuns).toBeLessThan(s.runs);
    } finally {
      await flash.close();
      await plain.close();
    }
  });

  it("reports a corrupt ONNX file as MODEL_LOAD_FAILED naming it (the flash-attention rewrite steps aside)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-corrupt-"));
    try {
      cpSync(bert, dir, { recursive: true });
      writeFileSync(join(dir, "onnx", "model.onnx"), Buffer.from("not an onnx model at all"));
      await expect(CrossEncoderReranker.load({ model: dir })).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED", message: expect.stringContaining(join(dir, "onnx", "model.onnx")) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("loads a graph whose attention the rewrite does not recognize as exported, and says why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-fused-"));
    try {
      cpSync(bert, dir, { recursive: true });
      // Already fused into com.microsoft Attention: no Softmax core left to rewrite.
      await fuseFile(join(bert, "onnx", "model.onnx"), join(dir, "onnx", "model.onnx"));
      const fused = await CrossEncoderReranker.load({ model: dir, scores: "logit" });
      const plain = await CrossEncoderReranker.load({ model: bert, scores: "logit", flashAttention: false });
      try {
        expect(fused.model!.session.flashAttention).toEqual({ enabled: false, reason: expect.stringContaining("not a pattern the rewrite recognizes") });
        const [a, b] = [await fused.rerank(QUERY, DOCS), await plain.rerank(QUERY, DOCS)];
        const byIndex = new Map(b.map((r) => [r.index, r.score]));
        for (const r of a) expect(r.score).toBeCloseTo(byIndex.get(r.index)!, 3);
      } finally {
        await fused.close();
        await plain.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
