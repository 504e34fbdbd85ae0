import { describe, expect, it } from "vitest";
import { AdaptedReranker, adaptReranker } from "../../src/core/adapted-reranker.js";
import { MemoryScoreCache } from "../../src/cache/memory-score-cache.js";
import type { ScoreCache } from "../../src/core/score-cache.js";
import type { CandidateInput, QueryInput, RankedResult, Reranker, RerankOptions } from "../../src/core/types.js";
import { toCandidates } from "../../src/core/inputs.js";
import { rankByScores } from "../../src/core/ranking.js";
import { ScriptedReranker } from "../support/fake-retrieval.js";

const score = (d: { text: string }) => d.text.length;

describe("AdaptedReranker: a plain Reranker on the shared path, with the score cache", () => {
  it("scores only the misses and returns the same ranking as the uncached reranker", async () => {
    const inner = new ScriptedReranker("len", score);
    const cache = new MemoryScoreCache();
    const cached = new AdaptedReranker(inner, { cache });
    const input = [{ id: "a", text: "xx" }, { id: "b", text: "xxxx" }, { id: "c", text: "x" }];
    const first = await cached.rerank("q", input, { topN: 2 });
    expect(first.map((r) => [r.id, r.score, r.details?.cached])).toEqual([["b", 4, false], ["a", 2, false]]);
    expect(inner.scoredTexts).toHaveLength(3);

    const second = await cached.rerank("q", [...input, { id: "d", text: "xxx" }]);
    expect(second.map((r) => r.id)).toEqual(["b", "d", "a", "c"]);
    expect(second.find((r) => r.id === "d")?.details?.cached).toBe(false);
    expect(second.find((r) => r.id === "a")?.details?.cached).toBe(true);
    expect(inner.scoredTexts).toEqual(["xx", "xxxx", "x", "xxx"]);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 4 });
  });

  it("keys on settings, query, document id and content, and the instruction", async () => {
    const cache = new MemoryScoreCache();
    const inner = new ScriptedReranker("m", score);
    const a = new AdaptedReranker(inner, { cache, settings: { type: "x", model: "a" } });
    const b = new AdaptedReranker(inner, { cache, settings: { model: "a", type: "x" } });
    const c = new AdaptedReranker(inner, { cache, settings: { type: "x", model: "b" } });
    const doc = { id: "1", text: "t" };
    const cached = async (r: AdaptedReranker, query: string, d: { id: string; text: string; title?: string }, instruction?: string) =>
      (await r.rerank(query, [d], { instruction }))[0].details?.cached;
    expect(await cached(a, "q", doc)).toBe(false);
    expect(await cached(b, "q", doc)).toBe(true); // key order of settings does not matter
    expect(await cached(c, "q", doc)).toBe(false);
    expect(await cached(a, "q2", doc)).toBe(false);
    expect(await cached(a, "q", { id: "2", text: "t" })).toBe(false);
    expect(await cached(a, "q", { id: "1", text: "t edited" })).toBe(false);
    expect(await cached(a, "q", { id: "1", text: "t", title: "T" })).toBe(false);
    expect(await cached(a, "q", doc, "be strict")).toBe(false);
    expect(await cached(a, "q", doc)).toBe(true);
    expect(inner.scoredTexts).toHaveLength(7);
  });

  it("maps the inner reranker's answer back by index, leaves out nothing, and refuses a bad index", async () => {
    const partial: Reranker = {
      name: "partial",
      // Answers only its best result, like a reranker that ignores "all of them".
      rerank: async (_q, candidates) => [{ index: 1, id: "b", score: 5 }].slice(0, candidates.length),
    };
    const r = await adaptReranker(partial).rerank("q", ["x", "y", "z"]);
    expect(r.map((x) => x.index)).toEqual([1, 0, 2]);
    expect(r[1].score).toBeNaN();
    const liar: Reranker = { name: "liar", rerank: async () => [{ index: 7, id: "?", score: 1 }] };
    await expect(adaptReranker(liar).rerank("q", ["x"])).rejects.toMatchObject({ code: "INTERNAL" });
    // A family is already on the path: adapting it is the identity.
    const again = new AdaptedReranker(partial);
    expect(adaptReranker(again)).toBe(again);
  });

  it("a cache that throws never fails the rerank", async () => {
    const broken: ScoreCache = {
      kind: "broken",
      getMany: async () => {
        throw new Error("down");
      },
      setMany: async () => {
        throw new Error("down");
      },
      stats: () => ({ hits: 0, misses: 0, errors: 0 }),
    };
    const r = await new AdaptedReranker(new ScriptedReranker("len", score), { cache: broken }).rerank("q", ["aaa", "a"]);
    expect(r.map((x) => x.score)).toEqual([3, 1]);
  });

  it("never stores a first-stage fallback or an unscored candidate as a score", async () => {
    let calls = 0;
    const flaky: Reranker = {
      name: "flaky",
      async rerank(_q: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
        calls++;
        const cands = toCandidates(candidates);
        // Call 1: upstream down, first-stage order flagged degraded; call 2: "b" unscored; then real scores.
        if (calls === 1) return rankByScores(cands, cands.map((_, i) => -i), options, () => ({ degraded: true }));
        return rankByScores(cands, cands.map((c) => (calls === 2 && c.document.id === "b" ? Number.NaN : c.document.text.length)), options);
      },
    };
    const cached = new AdaptedReranker(flaky, { cache: new MemoryScoreCache() });
    const input = [{ id: "a", text: "xx" }, { id: "b", text: "xxxx" }];
    expect((await cached.rerank("q", input))[0].details).toMatchObject({ degraded: true, cached: false });
    const second = await cached.rerank("q", input);
    expect(second.map((r) => [r.id, r.details?.cached])).toEqual([["a", false], ["b", false]]);
    const third = await cached.rerank("q", input);
    expect(third.map((r) => [r.id, r.score, r.details?.cached])).toEqual([["b", 4, false], ["a", 2, true]]);
    expect(calls).toBe(3);
  });
});
