import { describe, expect, it } from "vitest";
import { MemoryScoreCache } from "../../src/cache/memory-score-cache.js";
import { WinnowError } from "../../src/core/errors.js";
import { RerankerBase, type RerankerEvents, type ScoringCall, type ScoringKind, type ScoringOutcome } from "../../src/core/reranker-base.js";
import { caught } from "../support/caught.js";

/** A family whose scoring step is whatever the test says, recording every call it gets. */
class ScriptedFamily extends RerankerBase {
  readonly name = "scripted";
  calls: ScoringCall[] = [];
  constructor(
    readonly scoring: ScoringKind,
    private readonly step: (call: ScoringCall) => ScoringOutcome | Promise<ScoringOutcome>,
    options: ConstructorParameters<typeof RerankerBase>[0] = {},
  ) {
    super(options);
  }
  protected override cacheIdentity(): string {
    return "scripted/v1";
  }
  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    this.calls.push(call);
    return this.step(call);
  }
}

const byLength = (call: ScoringCall): ScoringOutcome => ({ scores: call.candidates.map((c) => c.document.text.length) });
/** Documents whose id is their text, so a text keeps its cache key wherever it sits in a list. */
const docs = (...texts: string[]) => texts.map((text) => ({ id: text, text }));
const hits = (texts: string[]) => texts.map((text, i) => ({ document: { id: `d${i}`, text }, score: 100 - i, rank: i + 1 }));

describe("RerankerBase", () => {
  it("ranks by score, ties in input order, NaN last, and cuts to topN", async () => {
    const f = new ScriptedFamily("pointwise", () => ({ scores: [1, Number.NaN, 3, 1, 3] }));
    const out = await f.rerank("q", ["a", "b", "c", "d", "e"]);
    expect(out.map((r) => r.index)).toEqual([2, 4, 0, 3, 1]);
    expect((await f.rerank("q", ["a", "b", "c", "d", "e"], { topN: 2 })).map((r) => r.index)).toEqual([2, 4]);
  });

  it("a listwise family's order comes first (it may cover a prefix), the rest by score; a bad order is an internal error", async () => {
    const f = new ScriptedFamily("listwise", () => ({ scores: [5, 4, 3, 2], order: [3, 1] }));
    const out = await f.rerank("q", ["a", "b", "c", "d"], { topN: 3 });
    expect(out.map((r) => r.index)).toEqual([3, 1, 0]);
    expect(f.calls[0].topN).toBe(3);
    const twice = new ScriptedFamily("listwise", () => ({ scores: [1, 2], order: [1, 1] }));
    expect((await caught(twice.rerank("q", ["a", "b"]))).code).toBe("INTERNAL");
    const short = new ScriptedFamily("pointwise", () => ({ scores: [1] }));
    expect((await caught(short.rerank("q", ["a", "b"]))).code).toBe("INTERNAL");
  });

  it("scores only the cache misses, never stores NaN, and says which scores were cached", async () => {
    const cache = new MemoryScoreCache();
    let nan = true;
    const f = new ScriptedFamily("pointwise", (call) => ({ scores: call.candidates.map((c) => (nan && c.document.text === "bb" ? Number.NaN : c.document.text.length)) }), { cache });
    await f.rerank("q", docs("a", "bb"));
    nan = false;
    const second = await f.rerank("q", docs("a", "bb", "ccc"));
    expect(f.calls[1].candidates.map((c) => c.document.text)).toEqual(["bb", "ccc"]);
    expect(second.map((r) => [r.index, r.score, r.details?.cached])).toEqual([[2, 3, false], [1, 2, false], [0, 1, true]]);
    expect(await f.cachedScores("q", docs("ccc", "zz"))).toEqual([3, undefined]);
    // rerankUncached scores everything and stores it, reading nothing.
    const reads = cache.stats().hits + cache.stats().misses;
    await f.rerankUncached("q", docs("a", "zz"));
    expect(cache.stats().hits + cache.stats().misses).toBe(reads);
    expect(await f.cachedScores("q", docs("zz"))).toEqual([2]);
  });

  it("keys the cache on the instruction too", async () => {
    const f = new ScriptedFamily("pointwise", byLength, { cache: new MemoryScoreCache() });
    Object.defineProperty(f, "instruction", { value: "accepted" });
    await f.rerank("q", ["a"], { instruction: "x" });
    expect((await f.rerank("q", ["a"], { instruction: "y" }))[0].details?.cached).toBe(false);
    expect((await f.rerank({ text: "q", instruction: "x" }, ["a"]))[0].details?.cached).toBe(true);
  });

  it("refuses an instruction it cannot read, naming the field; a non-string one is refused by every family", async () => {
    const f = new ScriptedFamily("pointwise", byLength);
    const err = await caught(f.rerank("q", ["a"], { instruction: "be strict" }));
    expect(err).toMatchObject({ code: "INVALID_INPUT", details: { field: "instruction" } });
    Object.defineProperty(f, "instruction", { value: "accepted" });
    expect((await caught(f.rerank("q", ["a"], { instruction: 7 as unknown as string }))).details.field).toBe("instruction");
    expect(f.calls).toHaveLength(0);
  });

  it("with onError fallback, answers the first-stage order flagged degraded for an upstream failure, never caches it, and tells events", async () => {
    const degraded: Array<[string, string, number]> = [];
    const events: RerankerEvents = { onDegraded: (name, e, n) => degraded.push([name, e.code, n]) };
    const cache = new MemoryScoreCache();
    let down = true;
    const f = new ScriptedFamily(
      "pointwise",
      (call) => {
        if (down) throw new WinnowError("UPSTREAM_ERROR", "503");
        return byLength(call);
      },
      { onError: "fallback", events, cache },
    );
    const out = await f.rerank("q", hits(["a", "bbb", "cc"]), { topN: 2 });
    expect(out.map((r) => [r.id, r.score, r.details])).toEqual([
      ["d0", 100, { degraded: true, reason: "UPSTREAM_ERROR" }],
      ["d1", 99, { degraded: true, reason: "UPSTREAM_ERROR" }],
    ]);
    expect(degraded).toEqual([["scripted", "UPSTREAM_ERROR", 3]]);
    down = false;
    expect((await f.rerank("q", hits(["a", "bbb", "cc"]))).map((r) => [r.id, r.details?.cached])).toEqual([["d1", false], ["d2", false], ["d0", false]]);
    // Other errors, and any error without fallback, are thrown.
    const bad = new ScriptedFamily("pointwise", () => { throw new WinnowError("INVALID_INPUT", "no"); }, { onError: "fallback" });
    expect((await caught(bad.rerank("q", ["a"]))).code).toBe("INVALID_INPUT");
    const strict = new ScriptedFamily("pointwise", () => { throw new WinnowError("TIMEOUT", "slow"); });
    expect((await caught(strict.rerank("q", ["a"]))).code).toBe("TIMEOUT");
  });

  it("says a call's warnings once, to the call and to events", async () => {
    const seen: string[] = [];
    const f = new ScriptedFamily("pointwise", (call) => ({ ...byLength(call), warnings: ["cut 1 passage"] }), { events: { onWarnings: (name, w) => seen.push(`${name}: ${w.join()}`) } });
    const mine: string[] = [];
    await f.rerank("q", ["a"], { onWarnings: (w) => mine.push(...w) });
    expect(seen).toEqual(["scripted: cut 1 passage"]);
    expect(mine).toEqual(["cut 1 passage"]);
  });
});
