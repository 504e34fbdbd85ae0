import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WinnowError } from "../../src/core/errors.js";
import { evaluateRun } from "../../src/eval/evaluate.js";
import { parseMetric } from "../../src/eval/metrics.js";
import { readQrels } from "../../src/eval/readers/qrels.js";
import { readRun } from "../../src/eval/readers/trec.js";
import { trecOrder } from "../../src/eval/run.js";
import { repoRoot } from "../support/shared-datasets.js";

const fixtures = join(repoRoot, "test/eval/fixtures");
const log2 = Math.log2;

/*
 * Expected values worked out by hand from trec_eval 9.0.8's definitions
 * (m_map.c, m_recip_rank.c, m_P.c, m_recall.c, m_ndcg_cut.c, form_res_rels.c).
 *
 * q1: scores d3 5.0, d1 4.0, d9 4.0, d2 3.0, d4 1.0. The tie at 4.0 is broken by docid
 *     descending (strcmp): "d9" > "d1", so the ranking is d3 d9 d1 d2 d4, whatever the
 *     rank column says. Grades: [0, unjudged, 2, 1, 1]; relevant (>= 1): d1 d2 d4, num_rel 3.
 *     map        = (1/3 + 2/4 + 3/5) / 3                   = 0.4778
 *     recip_rank = 1/3                                     = 0.3333
 *     P_5 = 3/5 = 0.6;  P_10 = 3/10 = 0.3 (trec_eval pads with non-relevant)
 *     recall_2 = 0/3; recall_3 = 1/3; recall_5 = 3/3
 *     ideal gains 2,1,1: IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4) = 3.1309
 *     ndcg_cut_3 = (2/log2(4)) / 3.1309                    = 0.3194
 *     ndcg_cut_5 = (2/log2(4) + 1/log2(5) + 1/log2(6)) / 3.1309 = 0.5805
 * q2: a, b, c all score 1 → ranking c b a; only a is relevant (grade 1) at rank 3.
 *     map = 1/3; recip_rank = 1/3; P_5 = 1/5; recall_5 = 1; ndcg_cut_5 = (1/log2(4)) / 1 = 0.5
 * q3: every judgment is 0 → num_rel 0: all measures 0 (the query still counts in the mean).
 * q4: n 10, m 9, k 8. n is judged -1 (counts as neither relevant nor ideal gain), m grade 3.
 *     map = (1/2)/1 = 0.5; recip_rank = 1/2; P_5 = 1/5; recall_5 = 1
 *     ndcg_cut_5 = (3/log2(3)) / (3/log2(2)) = 0.6309
 * q5: judged but absent from the run → 0 for everything (trec_eval -c).
 * q6: in the run, not judged → ignored.
 */
const q1 = {
  map: (1 / 3 + 2 / 4 + 3 / 5) / 3,
  recip_rank: 1 / 3,
  P_5: 3 / 5,
  P_10: 3 / 10,
  recall_2: 0,
  recall_3: 1 / 3,
  recall_5: 1,
  ndcg_cut_3: 2 / log2(4) / (2 + 1 / log2(3) + 1 / log2(4)),
  ndcg_cut_5: (2 / log2(4) + 1 / log2(5) + 1 / log2(6)) / (2 + 1 / log2(3) + 1 / log2(4)),
};
const q2 = { map: 1 / 3, recip_rank: 1 / 3, P_5: 1 / 5, recall_5: 1, ndcg_cut_5: 1 / log2(4) };
const q4 = { map: 1 / 2, recip_rank: 1 / 2, P_5: 1 / 5, recall_5: 1, ndcg_cut_5: 3 / log2(3) / 3 };

describe("trec_eval-exact measures", () => {
  it("ranks by score, ties by docid in descending strcmp order, ignoring the rank column", async () => {
    const run = await readRun(join(fixtures, "graded.run"));
    expect(trecOrder(run.get("q1")!).map((e) => e.docId)).toEqual(["d3", "d9", "d1", "d2", "d4"]);
    expect(trecOrder(run.get("q2")!).map((e) => e.docId)).toEqual(["c", "b", "a"]);
    // strcmp is byte order, descending for ties: "d9" > "d10" > "a" > "B"; U+1F600 > U+FF21 in UTF-8 (not in UTF-16).
    const tied = ["a", "B", "d10", "d9", "\uff21", "\u{1f600}"].map((docId) => ({ docId, score: 1 }));
    expect(trecOrder(tied).map((e) => e.docId)).toEqual(["\u{1f600}", "\uff21", "d9", "d10", "a", "B"]);
  });

  it("matches hand-computed trec_eval values per query and averaged with -c", async () => {
    const qrels = await readQrels(join(fixtures, "graded.qrels"));
    const run = await readRun(join(fixtures, "graded.run"));
    const names = ["map", "recip_rank", "P_5", "P_10", "recall_2", "recall_3", "recall_5", "ndcg_cut_3", "ndcg_cut_5"];
    const result = evaluateRun(qrels, run, names);
    const got = (q: string) => result.perQuery.get(q)!;
    for (const [name, value] of Object.entries(q1)) expect(got("q1")[name], `q1 ${name}`).toBeCloseTo(value, 10);
    for (const [name, value] of Object.entries(q2)) expect(got("q2")[name], `q2 ${name}`).toBeCloseTo(value, 10);
    for (const [name, value] of Object.entries(q4)) expect(got("q4")[name], `q4 ${name}`).toBeCloseTo(value, 10);
    for (const name of names) {
      expect(got("q3")[name]).toBe(0);
      expect(got("q5")[name]).toBe(0);
    }
    expect([...result.perQuery.keys()]).toEqual(["q1", "q2", "q3", "q4", "q5"]);
    expect(result.numQueries).toBe(5);
    expect(result.missingQueries).toEqual(["q5"]);
    expect(result.unjudgedQueries).toEqual(["q6"]);
    // The mean runs over all five judged queries: q3 and q5 pull it down.
    expect(result.metrics.map).toBeCloseTo((q1.map + q2.map + q4.map) / 5, 10);
    expect(result.metrics.ndcg_cut_5).toBeCloseTo((q1.ndcg_cut_5 + q2.ndcg_cut_5 + q4.ndcg_cut_5) / 5, 10);
    expect(result.metrics.map.toFixed(4)).toBe("0.2622"); // (0.4778 + 0.3333 + 0.5) / 5
  });

  it("averages only queries present in both without -c", async () => {
    const qrels = await readQrels(join(fixtures, "graded.qrels"));
    const run = await readRun(join(fixtures, "graded.run"));
    const result = evaluateRun(qrels, run, ["map"], { complete: false });
    expect(result.numQueries).toBe(4);
    expect(result.metrics.map).toBeCloseTo((q1.map + q2.map + q4.map) / 4, 10);
  });

  it("applies the relevance level to binary measures but not to nDCG gains, as trec_eval -l does", async () => {
    const qrels = await readQrels(join(fixtures, "graded.qrels"));
    const run = await readRun(join(fixtures, "graded.run"));
    const result = evaluateRun(qrels, run, ["map", "recall_5", "ndcg_cut_5", "num_rel"], { relevanceLevel: 2 });
    const r1 = result.perQuery.get("q1")!;
    // Only d1 (grade 2, rank 3) is relevant at level 2: map = (1/3)/1.
    expect(r1.map).toBeCloseTo(1 / 3, 10);
    expect(r1.num_rel).toBe(1);
    expect(r1.ndcg_cut_5).toBeCloseTo(q1.ndcg_cut_5, 10);
    // q2's only judgment is grade 1: nothing relevant at level 2.
    expect(result.perQuery.get("q2")!.recall_5).toBe(0);
    // Counts are summed over queries, not averaged: 1 (q1) + 0 + 0 + 1 (q4, grade 3) + 0.
    expect(result.metrics.num_rel).toBe(2);
  });

  it("cuts each ranking at depth like trec_eval -M", async () => {
    const qrels = await readQrels(join(fixtures, "graded.qrels"));
    const run = await readRun(join(fixtures, "graded.run"));
    const result = evaluateRun(qrels, run, ["recall_5", "num_ret"], { depth: 3 });
    // q1 keeps d3 d9 d1: one of three relevant.
    expect(result.perQuery.get("q1")!.recall_5).toBeCloseTo(1 / 3, 10);
    expect(result.perQuery.get("q1")!.num_ret).toBe(3);
  });

  it("scores nDCG with graded gains and the ideal ranking over all judged docs, even unretrieved ones", () => {
    const qrels = new Map([["q", new Map([["a", 3], ["b", 2], ["c", 1], ["d", 0]])]]);
    // Retrieved: c (1) then a (3); b (2) never retrieved but still in the ideal ranking.
    const run = new Map([["q", [{ docId: "c", score: 2 }, { docId: "a", score: 1 }, { docId: "d", score: 0.5 }]]]);
    const r = evaluateRun(qrels, run, ["ndcg_cut_2", "ndcg", "P_1"]).perQuery.get("q")!;
    const idcg2 = 3 / log2(2) + 2 / log2(3);
    expect(r.ndcg_cut_2).toBeCloseTo((1 / log2(2) + 3 / log2(3)) / idcg2, 10); // 0.6719
    expect(r.ndcg).toBeCloseTo((1 + 3 / log2(3)) / (3 + 2 / log2(3) + 1 / log2(4)), 10);
    expect(r.P_1).toBe(1);
  });

  it("refuses a document listed twice for one query, as trec_eval does", () => {
    const qrels = new Map([["q", new Map([["a", 1]])]]);
    const run = new Map([["q", [{ docId: "a", score: 2 }, { docId: "a", score: 1 }]]]);
    expect(() => evaluateRun(qrels, run, ["map"])).toThrow(/document "a" twice for query "q"/);
  });

  it("names bad metrics, options and scores", () => {
    const qrels = new Map([["q", new Map([["a", 1]])]]);
    const run = new Map([["q", [{ docId: "a", score: 1 }]]]);
    expect(() => parseMetric("ndcg@10")).toThrow(/unknown metric "ndcg@10"/);
    expect(parseMetric("ndcg_cut.10")).toEqual({ name: "ndcg_cut_10", family: "ndcg_cut", cutoff: 10 });
    expect(() => parseMetric("P_0")).toThrow(/cutoff must be between 1/);
    expect(() => evaluateRun(qrels, run, ["map"], { relevanceLevel: 0 })).toThrow(/relevanceLevel must be an integer >= 1/);
    expect(() => evaluateRun(qrels, new Map([["q", [{ docId: "a", score: Number.NaN }]]]), ["map"])).toThrow(/non-finite score/);
    const err = (() => {
      try {
        evaluateRun(qrels, new Map([["other", [{ docId: "a", score: 1 }]]]), ["map"], { complete: false });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WinnowError);
    expect((err as WinnowError).message).toMatch(/no query has both results and judgments/);
  });
});
