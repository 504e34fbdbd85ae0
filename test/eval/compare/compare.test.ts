import { describe, expect, it } from "vitest";
import { compareRuns } from "../../../src/eval/compare/compare-runs.js";
import { pairedTTest, studentTwoSidedP } from "../../../src/eval/compare/paired-t-test.js";
import type { RunEntry } from "../../../src/eval/run.js";

describe("paired t-test", () => {
  it("matches Student's t distribution at known points", () => {
    // Reference values from standard t tables (two-sided).
    expect(studentTwoSidedP(2.228, 10)).toBeCloseTo(0.05, 3);
    expect(studentTwoSidedP(2.0, 10)).toBeCloseTo(0.07339, 4);
    expect(studentTwoSidedP(1.96, 100000)).toBeCloseTo(0.05, 3);
    expect(studentTwoSidedP(0, 5)).toBeCloseTo(1, 12);
    expect(studentTwoSidedP(12.706, 1)).toBeCloseTo(0.05, 3);
  });

  it("computes t from per-query differences", () => {
    const r = pairedTTest([1, 2, 3, 4]);
    // mean 2.5, sd 1.291, se 0.6455 → t 3.873, df 3, p 0.0305
    expect(r.t).toBeCloseTo(3.873, 3);
    expect(r.df).toBe(3);
    expect(r.pValue).toBeCloseTo(0.0305, 3);
    expect(pairedTTest([0, 0, 0]).pValue).toBe(1);
  });
});

describe("compareRuns", () => {
  const qrels = new Map<string, Map<string, number>>();
  const a = new Map<string, RunEntry[]>();
  const b = new Map<string, RunEntry[]>();
  for (let q = 0; q < 30; q++) {
    qrels.set(`q${q}`, new Map([[`rel${q}`, 1]]));
    // A ranks the relevant document 3rd everywhere; B ranks it 1st on 20 queries, 5th on 5, 3rd on 5
    const rankB = q < 20 ? 1 : q < 25 ? 5 : 3;
    const list = (rank: number) => Array.from({ length: 10 }, (_, i) => ({ docId: i + 1 === rank ? `rel${q}` : `q${q}x${i}`, score: 10 - i }));
    a.set(`q${q}`, list(3));
    b.set(`q${q}`, list(rankB));
  }

  it("reports means, per-query deltas, wins/ties/losses and significance", () => {
    const c = compareRuns(qrels, a, b, { metric: "recip_rank", seed: 3, permutations: 2_000 });
    expect(c.metric).toBe("recip_rank");
    expect(c.numQueries).toBe(30);
    expect(c.a).toBeCloseTo(1 / 3, 12);
    expect(c.b).toBeCloseTo((20 * 1 + 5 * 0.2 + 5 / 3) / 30, 12);
    expect([c.wins, c.ties, c.losses]).toEqual([20, 5, 5]);
    expect(c.randomization.pValue).toBeLessThan(0.01);
    expect(c.tTest.pValue).toBeLessThan(0.01);
    expect(c.perQuery.find((q) => q.query === "q22")?.delta).toBeCloseTo(0.2 - 1 / 3, 12);
  });

  it("gives the same p-value for the same seed", () => {
    const one = compareRuns(qrels, a, b, { metric: "recip_rank", seed: 9, permutations: 500 });
    const two = compareRuns(qrels, a, b, { metric: "recip_rank", seed: 9, permutations: 500 });
    expect(two.randomization).toEqual(one.randomization);
  });

  it("finds no difference between a run and itself", () => {
    const c = compareRuns(qrels, a, a);
    expect(c.delta).toBe(0);
    expect(c.ties).toBe(30);
    expect(c.randomization.pValue).toBe(1);
    expect(c.tTest.pValue).toBe(1);
  });
});
