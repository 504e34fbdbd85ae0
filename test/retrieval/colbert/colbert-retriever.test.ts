import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readCorpus } from "../../../src/eval/readers/beir.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { loadPipeline } from "../../../src/pipeline/pipeline-config.js";
import { ColbertEncoder } from "../../../src/rerankers/colbert/colbert-encoder.js";
import { maxSim } from "../../../src/rerankers/colbert/maxsim.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { buildTokenStore } from "../../../src/retrieval/colbert/build-token-store.js";
import { TokenStore } from "../../../src/retrieval/colbert/token-store.js";
import { createRetriever } from "../../../src/retrieval/registry.js";
import { caught } from "../../support/caught.js";

/**
 * ColBERT as a first stage over a residual store beside a BM25 index (200 SciFact
 * abstracts), on its own, fused with BM25 by RRF, and in a cascade: ColBERT on the
 * fused candidates, then a cross-encoder on its best ones.
 */
const repo = resolve(import.meta.dirname, "../../..");
let dir = "";
let colbertDir = "";
let crossDir = "";
const QUERIES = ["cholesterol statins cardiovascular risk", "vitamin D deficiency in children", "tumour suppressor gene mutation"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "winnow-colbert-retriever-"));
  colbertDir = await ensureGeneratedModel("tiny-colbert");
  crossDir = await ensureGeneratedModel("tiny-bert");
  const docs = [];
  for await (const d of readCorpus(join(repo, "examples/scifact-mini"))) if (docs.push(d) >= 200) break;
  const index = await Bm25Index.build(docs);
  await index.save(join(dir, "idx"));
  const encoder = await ColbertEncoder.load({ model: colbertDir, threads: 1 });
  try {
    await buildTokenStore({ indexDir: join(dir, "idx"), encoder, documents: index, compression: "residual-2bit", centroids: 64, sampleTokens: 4096 });
  } finally {
    await encoder.close();
  }
}, 240_000);
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("colbert retriever", () => {
  it("finds what exhaustive MaxSim over the store ranks first, from centroid postings", async () => {
    const retriever = await createRetriever({ type: "colbert", index: join(dir, "idx") });
    const store = await TokenStore.open(join(dir, "idx"));
    const encoder = await ColbertEncoder.load({ model: colbertDir, threads: 1 });
    try {
      let overlap = 0;
      for (const q of QUERIES) {
        const hits = await retriever.search(q, 10);
        expect(hits).toHaveLength(10);
        expect(hits.map((h) => h.rank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        for (let i = 1; i < hits.length; i++) expect(hits[i - 1].score).toBeGreaterThanOrEqual(hits[i].score);
        // Exhaustive: every stored document's exact MaxSim (with the same decompressed vectors).
        const qm = await encoder.encodeQuery(q);
        const all = store.ids.map((id, i) => ({ id, s: maxSim(qm, store.vectorsAt(i).data, store.vectorsAt(i).rows) })).sort((a, b) => b.s - a.s);
        const top = new Set(all.slice(0, 10).map((x) => x.id));
        overlap += hits.filter((h) => top.has(h.document.id)).length;
        // A returned document's score is its exact MaxSim.
        expect(hits[0].score).toBeCloseTo(all.find((x) => x.id === hits[0].document.id)!.s, 5);
      }
      expect(overlap / (10 * QUERIES.length)).toBeGreaterThanOrEqual(0.9);
      expect(retriever.describe?.()).toMatchObject({ type: "colbert", compression: "residual-2bit", documents: 200 });
    } finally {
      await retriever.close?.();
      store.close();
      await encoder.close();
    }
  });

  it("refuses an fp16 store (no centroids to post) by name", async () => {
    const encoder = await ColbertEncoder.load({ model: colbertDir, threads: 1 });
    const index = await Bm25Index.load(join(dir, "idx"));
    const other = join(dir, "fp16");
    await index.save(other);
    await buildTokenStore({ indexDir: other, encoder, documents: { size: 5, document: (i) => index.document(i) }, compression: "fp16" });
    await encoder.close();
    const err = await caught(createRetriever({ type: "colbert", index: other }));
    expect(err.message).toMatch(/fp16\/colbert: the colbert retriever needs a residual store/);
  });

  it("fuses with BM25 by RRF, and cascades ColBERT on all 200 → cross-encoder on 50 in a pipeline", async () => {
    writeFileSync(
      join(dir, "cascade.yaml"),
      [
        "retrievers:",
        "  - type: hybrid",
        "    k: 200",
        "    retrievers: [{ type: bm25, index: ./idx }, { type: colbert, index: ./idx }]",
        "stages:",
        `  - { reranker: { type: colbert, model: "${colbertDir}", store: ./idx }, topK: 200 }`,
        `  - { reranker: { type: cross-encoder, model: "${crossDir}" }, topK: 50 }`,
        "topN: 5",
      ].join("\n"),
    );
    // The fused first stage alone: candidates from both lists, scored by RRF.
    const hybrid = await createRetriever({ type: "hybrid", retrievers: [{ type: "bm25", index: join(dir, "idx") }, { type: "colbert", index: join(dir, "idx") }] });
    try {
      const fused = await hybrid.search(QUERIES[0], 50);
      const sources = new Set(fused.flatMap((c) => (c.source ?? "").split("+")));
      expect([...sources].sort()).toEqual(["bm25", "colbert"]);
      expect(fused.some((c) => c.source === "bm25+colbert" || c.source === "colbert+bm25")).toBe(true);
      for (const c of fused) expect(c.score).toBeLessThanOrEqual(2 / 61 + 1e-12);
    } finally {
      await hybrid.close?.();
    }
    const pipeline = await loadPipeline(join(dir, "cascade.yaml"), { warmup: false });
    try {
      const r = await pipeline.search(QUERIES[0]);
      expect(r.results).toHaveLength(5);
      expect(r.stages.map((s) => [s.name, s.reranked])).toEqual([["colbert", 200], ["cross-encoder", 50]]);
      for (const h of r.results) expect(h.scores).toHaveProperty("colbert");
      for (const h of r.results) expect(h.scores).toHaveProperty("cross-encoder");
    } finally {
      await pipeline.close();
    }
  });
});
