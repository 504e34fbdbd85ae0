import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { evaluateRun } from "../../../src/eval/evaluate.js";
import { loadBeirDataset, readCorpus } from "../../../src/eval/readers/beir.js";
import type { RunEntry } from "../../../src/eval/run.js";
import { DEFAULT_LEARNED_MODEL_PATH } from "../../../src/rerankers/learned/default-model.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { sharedDataset } from "../../support/shared-datasets.js";

const scifact = sharedDataset("scifact");

describe("the shipped learned model (models/learned-default.json)", () => {
  it("records its training collections, features and leave-one-collection-out figures", async () => {
    const shipped = JSON.parse(await readFile(DEFAULT_LEARNED_MODEL_PATH, "utf8"));
    const collections = shipped.training.collections as Array<{ dataset: string; split: string; queries: number }>;
    expect(collections.map((c) => [c.dataset.split("/").at(-1), c.split])).toEqual([["scifact", "train"], ["cranfield", "test"], ["cisi", "test"], ["adi", "test"]]);
    expect(shipped.features).toContain("rm3_ratio_max");
    // round 3's selection: recorded with its criterion, which reads no SciFact test query
    expect(shipped.training.selection.criterion).toMatch(/SciFact train 5-fold CV/);
    expect(shipped.training.selection.criterion).toMatch(/SciFact test read by none/);
    expect(shipped.features).not.toContain("doc_length_ratio");
    expect(shipped.features).not.toContain("max_idf_matched_ratio");
    // Each figure comes from a model that never saw the collection; the bar: ≥ BM25 − 0.005 each, mean ≥ BM25 + 0.01.
    const loco = ["cranfield", "cisi", "adi"].map((n) => shipped.training.evaluation[n] as { protocol: string; bm25: number; learned: number });
    for (const e of loco) {
      expect(e.protocol).toMatch(/leave-one-collection-out/);
      expect(e.learned).toBeGreaterThanOrEqual(e.bm25 - 0.005);
    }
    expect(loco.reduce((a, e) => a + e.learned - e.bm25, 0) / 3).toBeGreaterThanOrEqual(0.01);
  });

  it.skipIf(!scifact.present)(`beats BM25 on SciFact test (never trained on) by at least 0.01 nDCG@10, through the registry as winnow eval runs it${scifact.skipNote}`, async () => {
    const index = await Bm25Index.build(readCorpus(scifact.dir));
    const { queries, qrels } = await loadBeirDataset(scifact.dir, "test");
    const reranker = await createReranker({ type: "learned" }, { index });
    const shippedFigure = JSON.parse(await readFile(DEFAULT_LEARNED_MODEL_PATH, "utf8")).training.evaluation.scifact as { learned: number };
    const bm25 = new Map<string, RunEntry[]>();
    const learned = new Map<string, RunEntry[]>();
    for (const q of queries) {
      const hits = await index.search(q, 100);
      bm25.set(q.id!, hits.map((h) => ({ docId: h.document.id, score: h.score })));
      const ranked = await reranker.rerank(q, hits, { returnDocuments: true });
      learned.set(q.id!, ranked.map((r) => ({ docId: hits[r.index].document.id, score: r.score })));
    }
    const base = evaluateRun(qrels, bm25, ["ndcg_cut_10"]).metrics.ndcg_cut_10;
    const lifted = evaluateRun(qrels, learned, ["ndcg_cut_10"]).metrics.ndcg_cut_10;
    expect(base).toBeCloseTo(0.6789, 3); // Anserini's published BM25 figure
    // Measured 0.6897 (+0.0108). Issue #16 asks for +0.02 (0.6989): not met by the model its
    // selection rule chose (round 3, models/README.md), so this pins what it does reach.
    expect(lifted).toBeGreaterThanOrEqual(base + 0.01);
    expect(lifted).toBeCloseTo(shippedFigure.learned, 3);
  }, 120_000);
});
