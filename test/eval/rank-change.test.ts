import { describe, expect, it } from "vitest";
import { rankChange } from "../../src/eval/rank-change.js";

/** Kendall's tau by counting every pair: the definition the merge-sort count must agree with. */
function tauByPairs(indices: number[]): number {
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < indices.length; i++) for (let j = i + 1; j < indices.length; j++) (indices[i] < indices[j] ? concordant++ : discordant++);
  return (concordant - discordant) / (concordant + discordant);
}

describe("rankChange", () => {
  it("is 1, 1, 0 for the input order kept", () => {
    expect(rankChange([0, 1, 2, 3])).toEqual({ n: 4, topOverlap: 1, kendallTau: 1, meanDisplacement: 0 });
  });
  it("gives the known values of a reversal and of a partial top n", () => {
    expect(rankChange([3, 2, 1, 0])).toEqual({ n: 4, topOverlap: 1, kendallTau: -1, meanDisplacement: 2 });
    // top 2 of 4 reversed: neither was in the input's top 2; one discordant pair; moved 3 and 1
    expect(rankChange([3, 2])).toEqual({ n: 2, topOverlap: 0, kendallTau: -1, meanDisplacement: 2 });
    // one swap in five: 1 discordant of 10 pairs → tau 0.8
    expect(rankChange([1, 0, 2, 3, 4])).toEqual({ n: 5, topOverlap: 1, kendallTau: 0.8, meanDisplacement: 0.4 });
    expect(rankChange([7])).toEqual({ n: 1, topOverlap: 0, kendallTau: null, meanDisplacement: 7 });
  });
  it("agrees with the pairwise definition of Kendall's tau on random orders", () => {
    let seed = 7;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let t = 0; t < 50; t++) {
      const n = 2 + Math.floor(next() * 60);
      const indices = Array.from({ length: n + 10 }, (_, i) => i).sort(() => next() - 0.5).slice(0, n);
      expect(rankChange(indices).kendallTau).toBeCloseTo(tauByPairs(indices), 12);
    }
  });
});
