import { describe, expect, it } from "vitest";
import { compareRuns } from "../../src/eval/compare/compare-runs.js";
import { computeLift } from "../../src/eval/lift.js";
import type { Qrels } from "../../src/eval/readers/qrels.js";
import type { Run } from "../../src/eval/run.js";
import { formatLiftTable, formatMetricsTable } from "../../src/eval/table.js";

const qrels: Qrels = new Map([
  ["q1", new Map([["a", 1]])],
  ["q2", new Map([["b", 1]])],
  ["q3", new Map([["c", 1]])],
]);
const entries = (ids: string[]) => ids.map((docId, i) => ({ docId, score: ids.length - i }));

describe("reranker lift", () => {
  // q1: reranking moves the relevant doc from rank 2 to 1 (win).
  // q2: unchanged (tie).  q3: relevant doc drops from rank 1 to 3 (loss), top-2 set changes.
  const first: Run = new Map([
    ["q1", entries(["x", "a", "y"])],
    ["q2", entries(["b", "x", "y"])],
    ["q3", entries(["c", "x", "y"])],
  ]);
  const reranked: Run = new Map([
    ["q1", entries(["a", "x", "y"])],
    ["q2", entries(["b", "x", "y"])],
    ["q3", entries(["x", "y", "c"])],
  ]);

  it("reports deltas, wins/ties/losses and how often the top k changed", () => {
    const lift = computeLift(qrels, first, reranked, { metrics: ["recip_rank", "P_2"], k: 2 });
    // recip_rank before: (1/2 + 1 + 1)/3; after: (1 + 1 + 1/3)/3.
    expect(lift.metrics.recip_rank.before).toBeCloseTo(2.5 / 3, 12);
    expect(lift.metrics.recip_rank.after).toBeCloseTo((7 / 3) / 3, 12);
    expect(lift.metrics.recip_rank.delta).toBeCloseTo((7 / 3 - 2.5) / 3, 12);
    expect(lift.metrics.recip_rank).toMatchObject({ wins: 1, ties: 1, losses: 1 });
    // Differences +1/2, 0, −2/3: every sign flip gives |sum| >= 1/6, so nothing is significant.
    expect(lift.metrics.recip_rank.pValue).toBeGreaterThan(0.99);
    // P_2: q1 1/2 → 1/2 (tie), q2 tie, q3 1/2 → 0 (loss).
    expect(lift.metrics.P_2).toMatchObject({ wins: 0, ties: 2, losses: 1 });
    // Top-2: q1 same set {x,a} but new order; q3 new set {x,y}; q2 unchanged.
    expect(lift.topK).toEqual({ k: 2, queries: 3, setChanged: 1 / 3, orderChanged: 2 / 3 });
    const text = formatLiftTable(lift);
    expect(text).toContain("recip_rank 1/1/1");
    expect(text).toContain("top-2 changed: set 33.3%, order 66.7% of 3 queries");
    expect(text.split("\n")[4]).toMatch(/^Δ\s+-0\.0556\s+-0\.1667$/);
    expect(text.split("\n")[5]).toMatch(/^p \(paired randomization\)\s+1\.0000\s+/);
  });

  it("pairs the same queries, with the same seed and trials, as compareRuns", () => {
    // q3 is missing from the reranked run: with trec_eval -c both score it 0 there; without,
    // neither pairs it (the lift used to count it as a loss while compare left it out).
    const partial: Run = new Map([...reranked].filter(([q]) => q !== "q3"));
    for (const complete of [true, false]) {
      const lift = computeLift(qrels, first, partial, { metrics: ["recip_rank"], complete }).metrics.recip_rank;
      const c = compareRuns(qrels, first, partial, { metric: "recip_rank", complete });
      expect([lift.wins, lift.ties, lift.losses]).toEqual([c.wins, c.ties, c.losses]);
      expect(lift.pValue).toBe(c.randomization.pValue);
      expect(c.numQueries).toBe(complete ? 3 : 2);
    }
    const seeded = computeLift(qrels, first, reranked, { metrics: ["recip_rank"], seed: 9, trials: 500 }).metrics.recip_rank.pValue;
    expect(seeded).toBe(compareRuns(qrels, first, reranked, { metric: "recip_rank", seed: 9, permutations: 500 }).randomization.pValue);
  });

  it("lines up the metrics table", () => {
    const text = formatMetricsTable(
      [
        { label: "bm25", metrics: { ndcg_cut_10: 0.67891, num_rel: 12 } },
        { label: "bm25+ce", metrics: { ndcg_cut_10: 0.7 } },
      ],
      { metrics: ["ndcg_cut_10", "num_rel"] },
    );
    expect(text.split("\n")).toEqual([
      "run      ndcg_cut_10  num_rel",
      "-------  -----------  -------",
      "bm25          0.6789       12",
      "bm25+ce       0.7000        -",
    ]);
  });
});
