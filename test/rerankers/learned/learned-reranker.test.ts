import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WinnowError } from "../../../src/core/errors.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { EnglishAnalyzer } from "../../../src/retrieval/analysis/english-analyzer.js";
import { LearnedReranker } from "../../../src/rerankers/learned/learned-reranker.js";
import { loadLearnedModel, saveLearnedModel, type LearnedModel } from "../../../src/rerankers/learned/model-file.js";
import { FEATURE_SET_VERSION } from "../../../src/rerankers/learned/features.js";

/** BM25 plus one tree that pushes down any document missing a query term. */
const model: LearnedModel = {
  format: "winnow-learned-ranker",
  version: 1,
  featureSetVersion: FEATURE_SET_VERSION,
  features: ["bm25", "coverage"],
  baseMargin: { feature: "bm25", scale: 1 },
  trees: [{ feature: [1], threshold: [0.99], left: [-1], right: [-2], leafValue: [-10, 0] }],
};

const docs = [
  "solar solar solar solar energy panels", // high BM25 for "solar", no "wind"
  "wind power and solar power together",
  "bread recipes",
];

describe("LearnedReranker", () => {
  const reranker = new LearnedReranker(model, { analyzer: new EnglishAnalyzer() });

  it("scores base margin + trees and returns the shared result shape", async () => {
    const results = await reranker.rerank("solar wind", docs);
    expect(results.map((r) => r.index)).toEqual([1, 0, 2]);
    expect(results[0]).toMatchObject({ index: 1, id: "1", document: { text: docs[1] } });
    // Doc 0 matches only "solar": its score is its BM25 minus the tree's 10.
    const { features } = reranker.scoreCandidates("solar wind", docs.map((text, i) => ({ document: { id: String(i), text }, score: 0, rank: i + 1 })));
    expect(results[1].score).toBeCloseTo(features[0] - 10, 10);
    const top1 = await reranker.rerank("solar wind", docs, { topN: 1, returnDocuments: false, family: { learned: { explain: true } } });
    expect(top1).toHaveLength(1);
    expect(top1[0].document).toBeUndefined();
    expect(top1[0].details).toMatchObject({ features: { coverage: 1 } });
  });

  it("rejects bad input with typed errors", async () => {
    await expect(reranker.rerank("  ", docs)).rejects.toThrowError(/query must not be empty/);
    await expect(reranker.rerank("x", docs, { topN: 0 })).rejects.toThrowError(/topN/);
    expect(await reranker.rerank("x", [])).toEqual([]);
  });

  it("saves atomically and loads back the same model", async () => {
    const dir = await mkdtemp(join(tmpdir(), "winnow-learned-"));
    const path = join(dir, "m.json");
    await saveLearnedModel(model, path);
    expect(await readdir(dir)).toEqual(["m.json"]); // no temp file left behind
    const loaded = await loadLearnedModel(path);
    expect(loaded.trees).toEqual(model.trees);
    const again = await new LearnedReranker(loaded, { analyzer: new EnglishAnalyzer() }).rerank("solar wind", docs);
    expect(again).toEqual(await reranker.rerank("solar wind", docs));
  });

  it("refuses missing, corrupt and mismatched model files naming the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "winnow-learned-"));
    await expect(loadLearnedModel(join(dir, "nope.json"))).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
    const bad = async (m: unknown) => {
      const p = join(dir, `bad-${Math.random()}.json`);
      await writeFile(p, typeof m === "string" ? m : JSON.stringify(m));
      return loadLearnedModel(p);
    };
    await expect(bad("{not json")).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
    await expect(bad({ ...model, featureSetVersion: 99 })).rejects.toThrowError(/featureSetVersion.*retrain/);
    await expect(bad({ ...model, features: ["bm25", "bogus"] })).rejects.toThrowError(/unknown feature "bogus"/);
    await expect(bad({ ...model, trees: [{ ...model.trees[0], feature: [5] }] })).rejects.toThrowError(/trees\[0\].*feature\[0\] = 5/);
    // A child pointing backwards would loop forever at prediction time.
    await expect(bad({ ...model, trees: [{ feature: [1, 0], threshold: [0, 0], left: [1, 0], right: [-1, -2], leafValue: [0, 0, 0] }] })).rejects.toThrowError(/invalid child/);
  });
});

describe("registry row `learned`", () => {
  it("loads the shipped default model from the package root and reranks arbitrary texts", async () => {
    const shipped = JSON.parse(await readFile(new URL("../../../models/learned-default.json", import.meta.url), "utf8"));
    expect(shipped.training.collections[0]).toMatchObject({ split: "train" });
    const r = await createReranker({ type: "learned" });
    expect(r.name).toBe("learned");
    const results = await r.rerank("effects of vitamin D on bone density", [
      "A recipe for sourdough bread.",
      "Vitamin D supplementation and bone mineral density in older adults: a randomized trial.",
      "Bone density was measured.",
    ]);
    expect(results[0].index).toBe(1);
    expect(results[2].index).toBe(0);
  });

  it("loads a saved BM25 index from a path given as `index` and uses its corpus statistics", async () => {
    const dir = await mkdtemp(join(tmpdir(), "winnow-learned-index-"));
    const corpus = [
      { id: "a", text: "solar panels convert sunlight into energy" },
      { id: "b", text: "wind turbines and solar farms" },
      { id: "c", text: "bread recipes with sourdough" },
      ...Array.from({ length: 30 }, (_, i) => ({ id: `s${i}`, text: `solar report number ${i}` })),
    ];
    const index = await Bm25Index.build(corpus);
    await index.save(join(dir, "idx"));
    const fromPath = await createReranker({ type: "learned", index: join(dir, "idx") });
    const fromObject = await createReranker({ type: "learned", index });
    const hits = await index.search("wind solar", 10);
    const a = await fromPath.rerank("wind solar", hits, { family: { learned: { explain: true } } });
    const b = await fromObject.rerank("wind solar", hits, { family: { learned: { explain: true } } });
    expect(a).toEqual(b);
    // Index statistics, not the candidate list's: "solar" is in 31 of 33 documents.
    const noIndex = await (await createReranker({ type: "learned" })).rerank("wind solar", hits, { family: { learned: { explain: true } } });
    expect(a.map((r) => r.score)).not.toEqual(noIndex.map((r) => r.score));
    await expect(createReranker({ type: "learned", index: join(dir, "missing") })).rejects.toBeInstanceOf(WinnowError);
    await expect(createReranker({ type: "learned", index: "" })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    await expect(createReranker({ type: "learned", index: 5 })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("rejects unknown options and bad model paths", async () => {
    await expect(createReranker({ type: "learned", modle: "x" })).rejects.toMatchObject({ code: "CONFIG_INVALID" });
    await expect(createReranker({ type: "learned", model: 3 })).rejects.toThrowError(/`model` must be a path/);
    await expect(createReranker({ type: "learned", model: "/nonexistent/m.json" })).rejects.toBeInstanceOf(WinnowError);
  });
});
