import { expect } from "vitest";
import type { RankedResult } from "../../src/core/types.js";

/** A small candidate list whose learned-reranker ranking differs from input order and has no ties. */
export const QUERY = "what causes fever in children";
export const TEXTS = [
  "The energy landscape theory explains how proteins fold into native structures.",
  "Fever in children is most often caused by viral infections such as influenza.",
  "Vitamin D supplementation improves bone density; no fever was observed in adults.",
  "Children with a high fever should drink fluids and rest; fever is a symptom.",
  "Unrelated text about aeronautics and boundary layers in children's toys.",
  "Bacterial infections can cause fever, and antibiotics treat the infection.",
];

/** The expected ranking must be informative: not input order, and no two scores equal to 1e-6. */
export function expectInformative(expected: RankedResult[]): void {
  expect(expected.map((r) => r.index)).not.toEqual(expected.map((_, i) => i));
  expect(new Set(expected.map((r) => r.score.toFixed(6))).size).toBe(expected.length);
}

/** Same indices in the same order, each score within 1e-6 of Winnow's own. */
export function expectSameRanking(got: Array<{ index: number; score: number }>, expected: RankedResult[], topN = expected.length): void {
  expect(got.map((r) => r.index)).toEqual(expected.slice(0, topN).map((r) => r.index));
  got.forEach((r, k) => expect(Math.abs(r.score - expected[k].score)).toBeLessThanOrEqual(1e-6));
}
