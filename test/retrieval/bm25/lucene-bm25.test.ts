import { describe, expect, it } from "vitest";
import { LENGTH_TABLE, lengthToNorm, luceneBm25Score, luceneIdf, normInverseCache, normToLength } from "../../../src/retrieval/bm25/lucene-bm25.js";

describe("Lucene BM25 pieces", () => {
  it("stores lengths below 24 exactly and larger ones with 4 significant bits", () => {
    for (let len = 0; len < 24; len++) expect(normToLength(lengthToNorm(len))).toBe(len);
    // 100 - 24 = 76 = 0b1001100: keep 0b1001 << 3 = 72, so 100 is scored as 24 + 72 = 96.
    expect(lengthToNorm(100)).toBe(57);
    expect(normToLength(57)).toBe(96);
    expect(normToLength(lengthToNorm(96))).toBe(96);
    expect(normToLength(lengthToNorm(103))).toBe(96);
    expect(normToLength(lengthToNorm(104))).toBe(104);
  });

  it("never decodes above the encoded length and is monotonic", () => {
    let prev = -1;
    for (let len = 0; len < 5000; len += 7) {
      const decoded = normToLength(lengthToNorm(len));
      expect(decoded).toBeLessThanOrEqual(len);
      expect(decoded).toBeGreaterThanOrEqual(prev);
      prev = decoded;
    }
    expect(LENGTH_TABLE[255]).toBeGreaterThan(2e9);
    expect(lengthToNorm(2 ** 31 - 1)).toBe(255);
  });

  it("computes idf and the per-document score like the textbook formula", () => {
    const idf = luceneIdf(1, 3);
    expect(idf).toBeCloseTo(Math.log(1 + 2.5 / 1.5), 6);
    const k1 = 0.9;
    const b = 0.4;
    const avgdl = 3;
    const cache = normInverseCache({ k1, b }, avgdl);
    const expected = (idf * 2) / (2 + k1 * (1 - b + (b * 3) / avgdl));
    expect(luceneBm25Score(idf, 2, cache[lengthToNorm(3)])).toBeCloseTo(expected, 6);
  });
});
