import { sharedDataset } from "../../support/shared-datasets.js";
import { beforeAll, describe, expect, it } from "vitest";
import { prepareDataset, type PreparedDataset } from "../../../src/rerankers/learned/dataset-training.js";
import { crossValidate, DEFAULT_BASE_MARGIN, DEFAULT_FEATURES, foldsOf, liftOf, runsFor, selectByInnerCv, trainModel, type PreparedQuery } from "../../../src/rerankers/learned/training.js";
import { seededRandom } from "../../../src/core/seeded-random.js";

// ADI (82 documents, 35 judged queries): a real collection small enough for unit tests.
const adi = sharedDataset("adi");
const ADI = adi.dir;

describe.skipIf(!adi.present)(`training on a real collection (ADI)${adi.skipNote}`, () => {
  let data: PreparedDataset;
  beforeAll(async () => {
    data = await prepareDataset({ dir: ADI, split: "test", candidates: 50, features: DEFAULT_FEATURES });
  });

  it("computes a bm25 feature equal to the first-stage BM25 score", async () => {
    const withRaw = await prepareDataset({ dir: ADI, split: "test", candidates: 50, features: ["bm25"], index: data.index });
    const col = 0;
    const F = 1;
    let checked = 0;
    for (const q of withRaw.queries) {
      q.candidates.forEach((c, i) => {
        // float32 (Lucene) vs float64 arithmetic: equal to ~1e-6 relative.
        expect(Math.abs(q.features[i * F + col] - c.score)).toBeLessThan(1e-4 * Math.max(1, c.score));
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(500);
  });

  it("starts exactly at BM25: a model without trees reproduces the first-stage metrics", () => {
    const trained = trainModel(data.queries, { features: DEFAULT_FEATURES, baseMargin: { ...DEFAULT_BASE_MARGIN }, params: { trees: 1 } });
    const noTrees = { ...trained.model, trees: [] };
    const lift = liftOf(data.qrels, runsFor(noTrees, data.queries));
    expect(lift.reranked.ndcg_cut_10).toBeCloseTo(lift.firstStage.ndcg_cut_10, 3);
    expect(lift.firstStage.ndcg_cut_10).toBeGreaterThan(0.3);
  });

  it("warm-starts from a model: its trees are kept and new ones appended", () => {
    const opts = { features: DEFAULT_FEATURES, baseMargin: { ...DEFAULT_BASE_MARGIN }, marginOnly: true };
    const first = trainModel(data.queries, { ...opts, params: { trees: 5, minSamplesPerLeaf: 20 } });
    const second = trainModel(data.queries, { ...opts, params: { trees: 3, minSamplesPerLeaf: 20, seed: 1 }, initModel: first.model });
    expect(second.model.trees.slice(0, first.model.trees.length)).toEqual(first.model.trees);
    expect(second.model.trees.length).toBe(first.model.trees.length + 3);
    // Training resumed where the first model ended: its starting nDCG is the first model's final one.
    expect(second.trainHistory[0]).toBeCloseTo(first.trainHistory.at(-1)!, 10);
    expect(() => trainModel(data.queries, { features: ["coverage"], baseMargin: null, initModel: first.model })).toThrowError(/must match/);
  });

  it("cross-validates by query: disjoint folds covering every query, deterministic", () => {
    const folds = foldsOf(data.queries, 5, 42);
    const ids = folds.flat().map((q) => q.query.id);
    expect(new Set(ids).size).toBe(data.queries.length);
    const opts = { features: DEFAULT_FEATURES, baseMargin: { ...DEFAULT_BASE_MARGIN }, marginOnly: true, params: { trees: 20, minSamplesPerLeaf: 20 }, validateFraction: 0.2 };
    const a = crossValidate(data.queries, data.qrels, 5, opts);
    const b = crossValidate(data.queries, data.qrels, 5, opts);
    expect(a.folds).toHaveLength(5);
    expect(a.folds.reduce((n, f) => n + f.testQueries, 0)).toBe(data.queries.length);
    expect(a).toEqual(b);
    expect(a.reranked).toBeGreaterThan(0);
    expect(a.importance.find((i) => i.feature === DEFAULT_BASE_MARGIN.feature)?.gain ?? 0).toBe(0); // margin only: never split on
    expect(() => crossValidate(data.queries, data.qrels, 1, opts)).toThrowError(/cv must be an integer in 2\.\./);
  });
});

describe("nested selection (selectByInnerCv)", () => {
  /** Synthetic queries: feature 0 = BM25 ratio (the margin), feature 1 = `signal` per row. */
  function synthetic(queries: number, signal: (label: number, row: number) => number): PreparedQuery[] {
    const random = seededRandom(7);
    return Array.from({ length: queries }, (_, q) => {
      const n = 30;
      const labels = Float32Array.from({ length: n }, () => (random() < 0.2 ? 1 : 0));
      const features = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) {
        features[i * 2] = 1 - i / n; // BM25 order = row order, unrelated to the labels
        features[i * 2 + 1] = signal(labels[i], i);
      }
      const candidates = Array.from({ length: n }, (_, i) => ({ document: { id: `q${q}d${i}`, text: "" }, score: n - i, rank: i + 1 }));
      return { query: { id: `q${q}`, text: "" }, candidates, features, labels };
    });
  }
  const opts = { features: ["bm25_ratio_max", "coverage"], baseMargin: { feature: "bm25_ratio_max", scale: 10 }, marginOnly: true, innerFolds: 3, seed: 5 };

  it("keeps the BM25 order (zero trees) when no feature carries anything beyond it", () => {
    const data = synthetic(24, () => 0.5);
    const { choice, trained } = selectByInnerCv(data, { ...opts, params: { trees: 10, minSamplesPerLeaf: 5 } });
    expect(choice).toMatchObject({ start: "scratch", trees: 0 });
    expect(choice.innerNdcg).toBe(choice.innerBm25);
    expect(trained.model.trees).toHaveLength(0);
  });

  it("learns from scratch when a feature predicts the labels, and prefers a warm start that already ranks well", () => {
    const data = synthetic(24, (label) => label);
    const scratch = selectByInnerCv(data, { ...opts, params: { trees: 10, minSamplesPerLeaf: 5, learningRate: 0.5 } });
    expect(scratch.choice.start).toBe("scratch");
    expect(scratch.choice.trees).toBeGreaterThan(0);
    expect(scratch.choice.innerNdcg).toBeGreaterThan(scratch.choice.innerBm25 + 0.1);
    expect(scratch.trained.model.trees).toHaveLength(scratch.choice.trees);
    // A model that already ranks by the signal: unchanged (0 new trees) is at least as good as anything else.
    const init = { ...scratch.trained.model, trees: [{ feature: [1], threshold: [0.5], left: [-1], right: [-2], leafValue: [0, 100] }] };
    const warm = selectByInnerCv(data, { ...opts, initModel: init, params: { trees: 5, minSamplesPerLeaf: 5 } });
    expect(warm.choice).toMatchObject({ start: "warm", trees: 0 });
    expect(warm.trained.model.trees).toEqual(init.trees);
  });
});

describe.skipIf(!adi.present)(`nested cross-validation on ADI${adi.skipNote}`, () => {
  it("records a per-fold choice, is deterministic, and a fold that keeps BM25 scores exactly BM25", async () => {
    const data = await prepareDataset({ dir: ADI, split: "test", candidates: 30, features: DEFAULT_FEATURES });
    const opts = { features: DEFAULT_FEATURES, baseMargin: { ...DEFAULT_BASE_MARGIN }, marginOnly: true, params: { trees: 8, minSamplesPerLeaf: 20 }, nested: { innerFolds: 3 } };
    const a = crossValidate(data.queries, data.qrels, 5, opts);
    expect(crossValidate(data.queries, data.qrels, 5, opts)).toEqual(a);
    for (const f of a.folds) {
      expect(f.choice).toBeDefined();
      expect(f.trees).toBe(f.choice!.trees);
      if (f.choice!.trees === 0) expect(f.reranked).toBeCloseTo(f.firstStage, 6);
    }
  });
});
