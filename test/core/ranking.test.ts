import { describe, expect, it } from "vitest";
import { rankByScores } from "../../src/core/ranking.js";
import { toCandidates, toQuery } from "../../src/core/inputs.js";
import { WinnowError } from "../../src/core/errors.js";

describe("rankByScores", () => {
  const cands = toCandidates(["a", "b", "c", "d"]);

  it("sorts by score descending, ties by input position", () => {
    const r = rankByScores(cands, [0.5, 0.9, 0.5, NaN]);
    expect(r.map((x) => x.index)).toEqual([1, 0, 2, 3]);
    expect(r[0].document?.text).toBe("b");
  });

  it("cuts to topN and can omit documents", () => {
    const r = rankByScores(cands, [1, 2, 3, 4], { topN: 2, returnDocuments: false });
    expect(r).toEqual([
      { index: 3, id: "3", score: 4 },
      { index: 2, id: "2", score: 3 },
    ]);
  });

  it("rejects a bad topN with a typed error naming the field", () => {
    expect(() => rankByScores(cands, [1, 2, 3, 4], { topN: 0 })).toThrowError(/topN/);
    try {
      rankByScores(cands, [1, 2, 3, 4], { topN: -1 });
    } catch (e) {
      expect((e as WinnowError).code).toBe("INVALID_INPUT");
    }
  });
});

describe("inputs", () => {
  it("rejects empty queries and non-string texts", () => {
    expect(() => toQuery("  ")).toThrowError(/query must not be empty/);
    expect(() => toCandidates([{ id: "x", text: 3 as unknown as string }])).toThrowError(/candidates\[0\] text/);
  });

  it("keeps candidates and documents as given", () => {
    const c = toCandidates([{ id: "d1", text: "t" }, { document: { id: "d2", text: "u" }, score: 3, rank: 1 }]);
    expect(c[0]).toEqual({ document: { id: "d1", text: "t" }, score: 0, rank: 1 });
    expect(c[1].score).toBe(3);
  });
});
