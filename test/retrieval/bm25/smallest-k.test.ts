import { describe, expect, it } from "vitest";
import { smallestK } from "../../../src/retrieval/bm25/smallest-k.js";

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("smallestK", () => {
  it("returns the k smallest keys in ascending order for random, sorted and reversed input", () => {
    const rand = seeded(42);
    for (const n of [0, 1, 2, 17, 100, 2500]) {
      const inputs = [
        Array.from({ length: n }, (_, i) => Math.floor(rand() * 1e12) * 4096 + i), // distinct
        Array.from({ length: n }, (_, i) => i),
        Array.from({ length: n }, (_, i) => n - i),
      ];
      for (const values of inputs) {
        for (const k of [1, 10, 1000, n + 5]) {
          const keys = Float64Array.from(values);
          const size = smallestK(keys, n, k);
          const expected = [...values].sort((a, b) => a - b).slice(0, Math.min(k, n));
          expect(size).toBe(expected.length);
          expect(Array.from(keys.subarray(0, size))).toEqual(expected);
        }
      }
    }
  });

  it("only looks at the first n keys", () => {
    const keys = Float64Array.from([5, 3, 9, 1, 0, -1]);
    expect(smallestK(keys, 4, 2)).toBe(2);
    expect(Array.from(keys.subarray(0, 2))).toEqual([1, 3]);
    expect(Array.from(keys.subarray(4))).toEqual([0, -1]);
  });
});
