import { describe, expect, it } from "vitest";
import { pairedRandomizationTest } from "../../src/eval/significance.js";

/** Exact two-sided p-value by enumerating all 2^n sign assignments (small n only). */
function exactP(diffs: number[]): number {
  const observed = Math.abs(diffs.reduce((s, d) => s + d, 0));
  let hits = 0;
  const total = 2 ** diffs.length;
  for (let mask = 0; mask < total; mask++) {
    let s = 0;
    for (let i = 0; i < diffs.length; i++) s += mask & (1 << i) ? diffs[i] : -diffs[i];
    if (Math.abs(s) >= observed - 1e-12) hits++;
  }
  return hits / total;
}

describe("paired randomization test", () => {
  it("agrees with exact enumeration", () => {
    const cases = [
      [0.1, 0.2, 0.05, 0.3, -0.1, 0.15, 0.2, 0.1, 0.05, 0.12],
      [0.5, -0.4, 0.3, -0.2, 0.1, 0.05, -0.3, 0.2],
      Array.from({ length: 12 }, () => 0.1), // exact p = 2 / 4096
    ];
    for (const diffs of cases) {
      expect(Math.abs(pairedRandomizationTest(diffs, { trials: 20_000 }) - exactP(diffs))).toBeLessThan(0.01);
    }
  });

  it("returns 1 when nothing changed and is reproducible for a seed", () => {
    expect(pairedRandomizationTest([0, 0, 0])).toBe(1);
    expect(pairedRandomizationTest([0.2, -0.2])).toBe(1);
    expect(pairedRandomizationTest([])).toBe(1);
    const diffs = Array.from({ length: 50 }, (_, i) => Math.sin(i) * 0.1 + 0.02);
    expect(pairedRandomizationTest(diffs, { seed: 7 })).toBe(pairedRandomizationTest(diffs, { seed: 7 }));
    expect(() => pairedRandomizationTest(diffs, { trials: 0 })).toThrow(/trials must be an integer/);
  });
});
