import { describe, expect, it } from "vitest";
import { parsePermutation } from "../../../src/rerankers/llm/permutation-parser.js";
import { parseJsonScores, parsePairwiseAnswer } from "../../../src/rerankers/llm/llm-reranker.js";
import { slidingWindowOrder } from "../../../src/rerankers/llm/listwise.js";
import { heapTopK, MemoizedComparator } from "../../../src/rerankers/llm/pairwise.js";
import { renderTemplate } from "../../../src/rerankers/llm/prompt-templates.js";

describe("parsePermutation", () => {
  it("reads a clean answer", () => {
    const r = parsePermutation("[3] > [1] > [2]", 3);
    expect(r.order).toEqual([2, 0, 1]);
    expect(Object.values(r.repairs).every((v) => v === 0)).toBe(true);
  });

  it("survives prose, reasoning, hallucinated and duplicate ids, and appends missing ones in order", () => {
    const r = parsePermutation("<think>maybe [4]</think>Sure! The ranking is [2] > [9] > [2] > [0] > [4], hope this helps.", 5);
    expect(r.order).toEqual([1, 3, 0, 2, 4]);
    expect(r.repairs).toEqual({ empty: 0, prose: 1, outOfRange: 2, duplicate: 1, missing: 3 });
  });

  it("accepts bare numbers and keeps the window order for an empty or id-free answer", () => {
    expect(parsePermutation("2 > 3 > 1", 3).order).toEqual([1, 2, 0]);
    const empty = parsePermutation("", 4);
    expect(empty.order).toEqual([0, 1, 2, 3]);
    expect(empty.repairs.empty).toBe(1);
    const nonsense = parsePermutation("I cannot rank these.", 3);
    expect(nonsense.order).toEqual([0, 1, 2]);
    expect(nonsense.repairs.empty).toBe(1);
    const allBad = parsePermutation("[7] > [8]", 2);
    expect(allBad.order).toEqual([0, 1]);
    expect(allBad.repairs).toMatchObject({ empty: 1, outOfRange: 2, missing: 0 });
  });
});

describe("parseJsonScores", () => {
  it("reads plain, fenced, nested and list forms; rejects out-of-range scores", () => {
    expect(parseJsonScores('{"1": 7, "2": 0, "3": 10}', 3)).toEqual([7, 0, 10]);
    expect(parseJsonScores('Here you go:\n```json\n{"scores": {"1": "4", "2": 9}}\n```', 2)).toEqual([4, 9]);
    expect(parseJsonScores('[{"id": 2, "score": 3}, {"id": 1, "score": 8}]', 2)).toEqual([8, 3]);
    const partial = parseJsonScores('{"1": 12, "2": 5, "7": 1}', 3);
    expect(partial[1]).toBe(5);
    expect(Number.isNaN(partial[0]) && Number.isNaN(partial[2])).toBe(true);
    expect(parseJsonScores("no json here", 2).every(Number.isNaN)).toBe(true);
    expect(parseJsonScores('{"1": 7, ', 2).every(Number.isNaN)).toBe(true);
  });
});

describe("parsePairwiseAnswer", () => {
  it("finds the chosen passage in what models say", () => {
    expect(parsePairwiseAnswer("Passage A")).toBe(1);
    expect(parsePairwiseAnswer("**Passage B**")).toBe(-1);
    expect(parsePairwiseAnswer("B")).toBe(-1);
    expect(parsePairwiseAnswer("I think Passage B is more relevant than Passage A.")).toBe(-1);
    expect(parsePairwiseAnswer("The passage about cats")).toBe(0);
    expect(parsePairwiseAnswer("")).toBe(0);
  });
});

describe("renderTemplate", () => {
  it("fills placeholders and drops lines whose only placeholder is empty", () => {
    expect(renderTemplate("Q: {query}\n{instruction}\nEnd {n} {unknown}", { query: "x", instruction: "", n: "3" })).toBe("Q: x\nEnd 3 {unknown}");
  });
});

describe("slidingWindowOrder", () => {
  it("walks bottom-up with the given window and step, and bubbles the best item to the top", async () => {
    // Relevance = candidate index value; the best (index 9) starts last.
    const calls: number[][] = [];
    const { order, windows } = await slidingWindowOrder([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4, 2, async (members) => {
      calls.push([...members]);
      return members.map((m, i) => ({ m, i })).sort((a, b) => b.m - a.m).map((x) => x.i);
    });
    expect(calls[0]).toEqual([6, 7, 8, 9]);
    expect(windows).toBe(4); // [6,10) [4,8) [2,6) [0,4)
    expect(calls).toHaveLength(4);
    expect(order.slice(0, 2)).toEqual([9, 8]);
    expect([...order].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("uses one window when the list fits", async () => {
    let n = 0;
    const r = await slidingWindowOrder([0, 1, 2], 20, 10, async (m) => {
      n++;
      return m.map((_, i) => m.length - 1 - i);
    });
    expect(n).toBe(1);
    expect(r.order).toEqual([2, 1, 0]);
  });
});

describe("heapTopK", () => {
  it("finds the true top-k with O(n + k log n) comparisons, far fewer than all pairs", async () => {
    const n = 64;
    const k = 5;
    // A fixed pseudo-random relevance per candidate.
    const rel = Array.from({ length: n }, (_, i) => ((i * 37) % 101) / 101);
    const cmp = new MemoizedComparator(async (a, b) => Math.sign(rel[a] - rel[b]));
    const top = await heapTopK(n, k, (a, b) => cmp.better(a, b));
    const truth = rel.map((r, i) => ({ r, i })).sort((a, b) => b.r - a.r || a.i - b.i).slice(0, k).map((x) => x.i);
    expect(top).toEqual(truth);
    expect(cmp.comparisons).toBeLessThanOrEqual(2 * n + 2 * k * Math.ceil(Math.log2(n)));
    expect(cmp.comparisons).toBeLessThan((n * (n - 1)) / 2 / 10);
  });

  it("runs the sift-downs of one heap level concurrently", async () => {
    const rel = Array.from({ length: 31 }, (_, i) => (i * 7) % 31);
    let active = 0;
    let peak = 0;
    const cmp = new MemoizedComparator(async (a, b) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      return Math.sign(rel[a] - rel[b]);
    });
    const top = await heapTopK(31, 3, (a, b) => cmp.better(a, b));
    expect(top).toEqual(rel.map((r, i) => ({ r, i })).sort((x, y) => y.r - x.r || x.i - y.i).slice(0, 3).map((x) => x.i));
    expect(peak).toBeGreaterThan(4);
  });

  it("sorts everything when k = n (heapsort), breaking ties by input position", async () => {
    const rel = [1, 3, 3, 0, 2];
    const cmp = new MemoizedComparator(async (a, b) => Math.sign(rel[a] - rel[b]));
    expect(await heapTopK(5, 5, (a, b) => cmp.better(a, b))).toEqual([1, 2, 4, 0, 3]);
  });
});
