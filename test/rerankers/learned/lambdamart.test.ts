import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../src/core/seeded-random.js";
import { meanNdcg, predictRows, trainLambdaMart, type RankingData } from "../../../src/rerankers/learned/lambdamart.js";
import { WinnowError } from "../../../src/core/errors.js";

/** Queries of `perQuery` docs with 5 uniform features; relevance is a known function of x0..x2 (x3, x4 are noise). */
function synthetic(queries: number, perQuery: number, seed: number): RankingData {
  const random = seededRandom(seed);
  const F = 5;
  const rows = queries * perQuery;
  const features = new Float64Array(rows * F);
  const labels = new Float32Array(rows);
  const queryOffsets = new Int32Array(queries + 1);
  for (let q = 0; q < queries; q++) {
    queryOffsets[q + 1] = (q + 1) * perQuery;
    for (let d = 0; d < perQuery; d++) {
      const i = q * perQuery + d;
      for (let f = 0; f < F; f++) features[i * F + f] = random();
      const x = features.subarray(i * F, i * F + F);
      // Non-linear: an interaction and a threshold, which trees can learn and a linear model cannot.
      const utility = 2 * x[0] + (x[1] > 0.5 ? 1 : 0) * x[2] * 2;
      labels[i] = utility > 2.2 ? 3 : utility > 1.6 ? 2 : utility > 1.0 ? 1 : 0;
    }
  }
  return { featureCount: F, features, labels, queryOffsets };
}

describe("trainLambdaMart", () => {
  const train = synthetic(120, 40, 1);
  const test = synthetic(60, 40, 2);

  it("recovers a known ranking function on held-out queries", () => {
    const model = trainLambdaMart(train, { trees: 120, learningRate: 0.1, maxLeaves: 8, minSamplesPerLeaf: 20, earlyStoppingRounds: 0 });
    const learned = meanNdcg(test, predictRows(test, model.trees), 10);
    // Baselines on the same queries: the input order (random) and the single best feature.
    const random = meanNdcg(test, new Float64Array(test.labels.length), 10);
    const x0Only = meanNdcg(test, Float64Array.from({ length: test.labels.length }, (_, i) => test.features[i * 5]), 10);
    expect(learned).toBeGreaterThan(0.93);
    expect(learned).toBeGreaterThan(x0Only + 0.03);
    expect(random).toBeLessThan(0.7);
    // The noise features carry (almost) none of the gain.
    const g = model.featureGain;
    expect(g[0] + g[1] + g[2]).toBeGreaterThan(10 * (g[3] + g[4]));
  });

  it("weighs queries by queryWeights: a weight-0 half of the training set has no say", () => {
    // The second half of the queries has reversed labels (relevance falls with x0).
    const mixed = synthetic(120, 40, 3);
    const flipped = Float32Array.from(mixed.labels);
    const half = mixed.queryOffsets[60];
    for (let i = half; i < flipped.length; i++) flipped[i] = 3 - flipped[i];
    const data: RankingData = { ...mixed, labels: flipped };
    const weights = (a: number, b: number) => Float32Array.from({ length: 120 }, (_, q) => (q < 60 ? a : b));
    const params = { trees: 40, learningRate: 0.1, minSamplesPerLeaf: 20 };
    const forward = trainLambdaMart({ ...data, queryWeights: weights(1, 0) }, params);
    const backward = trainLambdaMart({ ...data, queryWeights: weights(0, 1) }, params);
    expect(meanNdcg(test, predictRows(test, forward.trees), 10)).toBeGreaterThan(0.9);
    expect(meanNdcg(test, predictRows(test, backward.trees), 10)).toBeLessThan(0.6);
    // Uniform weights with no L2 are the unweighted learner (leaf values are weighted means).
    const plain = trainLambdaMart(train, { ...params, l2: 0 });
    const uniform = trainLambdaMart({ ...train, queryWeights: weights(2, 2) }, { ...params, l2: 0 });
    expect(predictRows(test, uniform.trees)[5]).toBeCloseTo(predictRows(test, plain.trees)[5], 9);
    expect(() => trainLambdaMart({ ...train, queryWeights: new Float32Array(3) }, params)).toThrowError(/queryWeights must have one value per query/);
  });

  it("keeps every tree monotone in a constrained feature, even where the labels are not", () => {
    // Relevance rises with x0 except a dip (x0 in 0.6..0.8 is irrelevant), and falls with x3.
    const data = synthetic(120, 40, 3);
    for (let i = 0; i < data.labels.length; i++) {
      const x0 = data.features[i * 5];
      const x3 = data.features[i * 5 + 3];
      data.labels[i] = x0 > 0.6 && x0 < 0.8 ? 0 : Math.round(3 * x0 * (1 - 0.5 * x3));
    }
    const params = { trees: 40, learningRate: 0.1, maxLeaves: 8, minSamplesPerLeaf: 20, earlyStoppingRounds: 0 };
    const free = trainLambdaMart(data, params);
    const guarded = trainLambdaMart(data, params, { monotone: new Map([[0, 1], [3, -1]] as const) });
    // Sweep one feature with the others fixed, at many points: the constrained model never
    // moves against the direction; the free one learns the dip in x0.
    const along = (trees: typeof free.trees, f: number, base: number[]) =>
      Array.from({ length: 101 }, (_, k) => {
        const x = Float64Array.from(base);
        x[f] = k / 100;
        return predictRows({ featureCount: 5, features: x, labels: new Float32Array(1), queryOffsets: Int32Array.from([0, 1]) }, trees)[0];
      });
    const random = seededRandom(9);
    let freeDips = 0;
    for (let probe = 0; probe < 20; probe++) {
      const base = Array.from({ length: 5 }, () => random());
      const up = along(guarded.trees, 0, base);
      const down = along(guarded.trees, 3, base);
      for (let k = 1; k <= 100; k++) {
        expect(up[k]).toBeGreaterThanOrEqual(up[k - 1] - 1e-12);
        expect(down[k]).toBeLessThanOrEqual(down[k - 1] + 1e-12);
      }
      const f = along(free.trees, 0, base);
      if (f.some((v, k) => k > 0 && v < f[k - 1] - 1e-9)) freeDips++;
    }
    expect(freeDips).toBeGreaterThan(0);
    // the guard costs something on these labels, but the model still learns
    expect(meanNdcg(data, predictRows(data, guarded.trees), 10)).toBeGreaterThan(meanNdcg(data, new Float64Array(data.labels.length), 10) + 0.1);
  });

  it("is deterministic for a seed and changes with another seed", () => {
    const params = { trees: 20, featureFraction: 0.6, minSamplesPerLeaf: 20 };
    const a = trainLambdaMart(train, { ...params, seed: 7 });
    const b = trainLambdaMart(train, { ...params, seed: 7 });
    const c = trainLambdaMart(train, { ...params, seed: 8 });
    expect(JSON.stringify(a.trees)).toBe(JSON.stringify(b.trees));
    expect(JSON.stringify(a.trees)).not.toBe(JSON.stringify(c.trees));
  });

  it("starts from the base margin and stops early on a validation split", () => {
    // A base margin that is already the best ranking: trees cannot improve validation.
    const withMargin = (d: RankingData): RankingData => ({ ...d, baseMargin: Float64Array.from(d.labels, (l) => l * 10) });
    const model = trainLambdaMart(withMargin(train), { trees: 200, earlyStoppingRounds: 5 }, { validation: withMargin(test) });
    expect(model.validHistory[0]).toBeCloseTo(1, 6);
    expect(model.bestIteration).toBe(0);
    expect(model.trees).toHaveLength(0);
    expect(model.validHistory.length).toBeLessThanOrEqual(7);
  });

  it("reports progress and respects minSamplesPerLeaf and maxLeaves", () => {
    const seen: number[] = [];
    const model = trainLambdaMart(train, { trees: 5, maxLeaves: 4, minSamplesPerLeaf: 300 }, { onProgress: (p) => seen.push(p.tree) });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    for (const t of model.trees) expect(t.leafValue.length).toBeLessThanOrEqual(4);
  });

  it("rejects bad parameters and malformed data with typed errors", () => {
    expect(() => trainLambdaMart(train, { maxLeaves: 1 })).toThrowError(/maxLeaves must be an integer in 2\.\.1024/);
    expect(() => trainLambdaMart(train, { learningRate: 0 })).toThrowError(WinnowError);
    const bad = { ...train, queryOffsets: Int32Array.from([0, 5]) };
    expect(() => trainLambdaMart(bad)).toThrowError(/train\.queryOffsets/);
  });
});
