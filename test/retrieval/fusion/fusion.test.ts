import { describe, expect, it } from "vitest";
import type { Candidate } from "../../../src/core/types.js";
import { InvalidInputError } from "../../../src/core/errors.js";
import { reciprocalRankFusion, weightedScoreFusion } from "../../../src/retrieval/fusion/fusion.js";

function list(name: string, ids: string[], scores?: number[]): { name: string; candidates: Candidate[] } {
  return {
    name,
    candidates: ids.map((id, i) => ({ document: { id, text: id }, score: scores ? scores[i] : ids.length - i, rank: i + 1 })),
  };
}

describe("reciprocalRankFusion", () => {
  it("sums 1/(k + rank) over lists with k = 60 by default", () => {
    const fused = reciprocalRankFusion([list("bm25", ["a", "b", "c"]), list("dense", ["c", "a", "d"])]);
    const byId = Object.fromEntries(fused.map((c) => [c.document.id, c.score]));
    expect(byId.a).toBeCloseTo(1 / 61 + 1 / 62, 12);
    expect(byId.c).toBeCloseTo(1 / 63 + 1 / 61, 12);
    expect(byId.b).toBeCloseTo(1 / 62, 12);
    expect(byId.d).toBeCloseTo(1 / 63, 12);
    expect(fused.map((c) => c.document.id)).toEqual(["a", "c", "b", "d"]);
    expect(fused.map((c) => c.rank)).toEqual([1, 2, 3, 4]);
    expect(fused[0].source).toBe("bm25+dense");
    expect(fused[0].scores).toMatchObject({ bm25: 3, dense: 2, rrf: byId.a });
  });

  it("honours k, weights, limit and counts a duplicate only at its best position", () => {
    const fused = reciprocalRankFusion(
      [{ ...list("x", ["a", "b", "a"]), weight: 2 }, list("y", ["b"])],
      { k: 0, limit: 1 },
    );
    // a: 2/1 = 2 (its second place in x adds nothing); b: 2/2 + 1/1 = 2
    expect(fused).toHaveLength(1);
    expect(fused[0].score).toBeCloseTo(2, 12);
  });

  it("rejects a negative weight and a bad k naming the field", () => {
    expect(() => reciprocalRankFusion([{ ...list("x", ["a"]), weight: -1 }])).toThrow(/lists\[0\]\.weight/);
    expect(() => reciprocalRankFusion([list("x", ["a"])], { k: Number.NaN })).toThrow(/rrf k/);
    expect(() => reciprocalRankFusion([list("x", ["a"])], { limit: 0 })).toThrow(/limit/);
  });
});

describe("weightedScoreFusion", () => {
  it("min-max normalizes each list so scales do not dominate", () => {
    // BM25 scores in the tens, cosine in [0,1]: after min-max both count equally.
    const fused = weightedScoreFusion([list("bm25", ["a", "b", "c"], [30, 20, 10]), list("dense", ["c", "b", "a"], [0.9, 0.5, 0.1])]);
    const byId = Object.fromEntries(fused.map((c) => [c.document.id, c.score]));
    expect(byId.a).toBeCloseTo(1 + 0, 12);
    expect(byId.b).toBeCloseTo(0.5 + 0.5, 12);
    expect(byId.c).toBeCloseTo(0 + 1, 12);
    expect(fused[0].scores?.fused).toBeCloseTo(1, 12);
  });

  it("gives a document missing from a list that list's floor, weighted", () => {
    const fused = weightedScoreFusion(
      [{ ...list("bm25", ["a", "b"], [4, 2]), weight: 3 }, list("dense", ["c", "a"], [1, 0])],
      { normalization: "min-max" },
    );
    const byId = Object.fromEntries(fused.map((c) => [c.document.id, c.score]));
    expect(byId.a).toBeCloseTo(3 * 1 + 0, 12);
    expect(byId.b).toBeCloseTo(0 + 0, 12);
    expect(byId.c).toBeCloseTo(0 + 1, 12);
    expect(fused[0].document.id).toBe("a");
  });

  it("z-score normalization centres each list", () => {
    const fused = weightedScoreFusion([list("x", ["a", "b", "c"], [3, 2, 1])], { normalization: "z-score" });
    const sd = Math.sqrt(2 / 3);
    expect(fused.map((c) => c.score)).toEqual([1 / sd, 0, -1 / sd].map((v) => expect.closeTo(v, 12)));
  });

  it("rejects an unknown normalization", () => {
    expect(() => weightedScoreFusion([list("x", ["a"])], { normalization: "rank" as never })).toThrow(/normalization/);
  });
});

describe("fusion inputs", () => {
  const plain = (source: string | undefined, ids: string[]): Candidate[] =>
    ids.map((id, i) => ({ document: { id, text: id }, score: ids.length - i, rank: i + 1, ...(source ? { source } : {}) }));

  it("accepts plain search results (Candidate[]), named after their source", () => {
    const bm25 = plain("bm25", ["a", "b", "c"]);
    const dense = plain("dense", ["c", "a", "d"]);
    const named = reciprocalRankFusion([{ name: "bm25", candidates: bm25 }, { name: "dense", candidates: dense }]);
    expect(reciprocalRankFusion([bm25, dense])).toEqual(named);
    expect(weightedScoreFusion([bm25, dense])).toEqual(weightedScoreFusion([{ name: "bm25", candidates: bm25 }, { name: "dense", candidates: dense }]));
    // Two lists from one source, or none, get positional names so neither score is lost.
    const twice = reciprocalRankFusion([plain("bm25", ["a"]), plain("bm25", ["a"])]);
    expect(twice[0].scores).toMatchObject({ bm25: 1, list2: 1 });
    expect(reciprocalRankFusion([plain(undefined, ["x"])])[0].source).toBe("list1");
  });

  it("refuses other shapes with the shape it needs, never a raw TypeError", () => {
    const hits = [{ id: "a", score: 1 }];
    const cases: Array<[unknown, RegExp]> = [
      [[Promise.resolve([])], /^lists\[0\] must be a Candidate\[\] \(what search\(\) returns\) or \{ name, candidates: Candidate\[\], weight\? \}; got a Promise \(await the search first\)/],
      [[hits], /^lists\[0\]\[0\] must be a Candidate \(\{ document: \{ id, text \}, score, rank \}\); got an object with keys id, score/],
      [[{ name: "bm25", hits }], /^lists\[0\] must be a Candidate\[\].*got an object with keys name, hits/],
      [[{ name: "", candidates: [] }], /^lists\[0\]\.name must be a non-empty string/],
      [[{ name: "x", candidates: [null] }], /^lists\[0\]\.candidates\[0\] must be a Candidate.*got null/],
      [plain("bm25", ["a"]), /^lists\[0\] must be a Candidate\[\]/],
      ["bm25", /^lists must be an array of ranked lists/],
    ];
    for (const fuse of [reciprocalRankFusion, weightedScoreFusion]) {
      for (const [input, message] of cases) {
        let err: unknown;
        try {
          fuse(input as never);
        } catch (e) {
          err = e;
        }
        expect(err, String(message)).toBeInstanceOf(InvalidInputError);
        expect((err as Error).message).toMatch(message);
      }
    }
  });
});
