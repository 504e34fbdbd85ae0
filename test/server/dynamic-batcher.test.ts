import { describe, expect, it } from "vitest";
import { WinnowError } from "../../src/core/errors.js";
import { DynamicBatcher } from "../../src/server/dynamic-batcher.js";
import { LexicalBatchScorer } from "./lexical-scorer.js";

const docs = (n: number, word: string) => Array.from({ length: n }, (_, i) => `${word} document ${i}`);

describe("DynamicBatcher", () => {
  it("shares forward passes between concurrent requests and returns each its own logits", async () => {
    const scorer = new LexicalBatchScorer(10_000, 5);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 16, maxQueuedPairs: 1_000 });
    const busy = await scorer.prepare("busy", ["busy"]);
    const a = await scorer.prepare("alpha", ["alpha alpha", "beta", "alpha"]);
    const b = await scorer.prepare("beta", ["beta", "gamma"]);
    // An idle batcher dispatches at once; what arrives meanwhile waits and is batched together.
    const [, ra, rb] = await Promise.all([batcher.submit(busy.units), batcher.submit(a.units), batcher.submit(b.units)]);
    expect(Array.from(ra.logits)).toEqual([1, -1, 0]);
    expect(Array.from(rb.logits)).toEqual([0, -1]);
    expect(scorer.batches.map((x) => x.size)).toEqual([1, 5]);
    expect(new Set(scorer.batches[1].tags)).toEqual(new Set(["alpha", "beta"]));
    expect(batcher.queuedPairs).toBe(0);
  });

  it("splits a huge request across batches and lets a small one behind it finish first", async () => {
    const scorer = new LexicalBatchScorer(10_000, 3);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 8, maxQueuedPairs: 10_000 });
    const big = await scorer.prepare("big", docs(400, "big"));
    const small = await scorer.prepare("small", docs(6, "small"));
    const order: string[] = [];
    let batchesWhenSmallDone = -1;
    const pBig = batcher.submit(big.units).then(() => order.push("big"));
    // Arrives while the big one is already being scored.
    await new Promise((r) => setTimeout(r, 1));
    const submittedAt = scorer.batches.length;
    const pSmall = batcher.submit(small.units).then(() => {
      order.push("small");
      batchesWhenSmallDone = scorer.batches.length;
    });
    await Promise.all([pBig, pSmall]);
    expect(order).toEqual(["small", "big"]);
    // Its 6 units fit one batch of 8: it goes in the next batch (topped up with big units),
    // after at most the one pass already running when it arrived.
    expect(batchesWhenSmallDone - submittedAt).toBeLessThanOrEqual(2);
    const withSmall = scorer.batches.filter((b) => b.tags.includes("small"));
    expect(withSmall).toHaveLength(1);
    expect(withSmall[0].tags.filter((t) => t === "small")).toHaveLength(6);
    // 406 units in batches of at most 8.
    expect(scorer.batches.every((b) => b.size <= 8)).toBe(true);
    expect(scorer.batches.reduce((s, b) => s + b.size, 0)).toBe(406);
  });

  it("finishes equal requests one after another in arrival order instead of sharing every batch among them", async () => {
    const scorer = new LexicalBatchScorer(10_000, 2);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 4, maxQueuedPairs: 1_000 });
    const busy = batcher.submit((await scorer.prepare("busy", ["busy"])).units);
    const done: Array<{ tag: string; batches: number }> = [];
    const tags = ["r0", "r1", "r2", "r3"];
    const requests = await Promise.all(tags.map((t) => scorer.prepare(t, docs(8, t))));
    await Promise.all([
      busy,
      ...requests.map((p, i) => batcher.submit(p.units).then(() => done.push({ tag: tags[i], batches: scorer.batches.length }))),
    ]);
    expect(done.map((d) => d.tag)).toEqual(tags);
    // 1 busy pass, then 8 units = 2 passes each: r0 done after pass 3, r1 after 5, …
    // (sharing every batch round-robin would finish all four only at pass 9).
    expect(done.map((d) => d.batches)).toEqual([3, 5, 7, 9]);
    for (const b of scorer.batches.slice(1)) expect(new Set(b.tags).size).toBe(1);
  });

  it("does not starve a big request under a steady stream of small ones", async () => {
    const scorer = new LexicalBatchScorer(10_000, 2);
    let stream = true;
    let smallServed = 0;
    const smalls: Array<Promise<unknown>> = [];
    const prepared = await scorer.prepare("small", ["small one"]);
    const batcher: DynamicBatcher = new DynamicBatcher(scorer, {
      maxBatchTokens: 10_000,
      maxBatchPairs: 1,
      maxQueuedPairs: 1_000,
      // A new small request arrives during every pass, so there is always one waiting
      // (up to 400, so that a scheduler that starves the big one fails here, not by timeout).
      observer: { onBatch: () => stream && smalls.length < 400 && smalls.push(batcher.submit(prepared.units).then(() => smallServed++)) },
    });
    const big = await scorer.prepare("big", docs(20, "big"));
    smalls.push(batcher.submit(prepared.units));
    await batcher.submit(big.units);
    stream = false;
    await Promise.all(smalls);
    // Small ones went first at the start (shortest remaining work), but the big one aged
    // past them and finished while they were still arriving.
    expect(scorer.batches[1].tags).toEqual(["small"]);
    expect(scorer.batches.filter((b) => b.tags.includes("big"))).toHaveLength(20);
    expect(smallServed).toBeLessThan(200);
  });

  it("keeps a batch within the padded token budget, but always takes at least one unit", async () => {
    const scorer = new LexicalBatchScorer(60, 1);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 60, maxBatchPairs: 100, maxQueuedPairs: 1_000 });
    // Each unit: 1 query word + up to 16 words + 3 = 20 tokens → 3 per batch.
    const prepared = await scorer.prepare("q", docs(9, "x x x x x x x x x x x x x")); // 16 words each
    await batcher.submit(prepared.units);
    expect(scorer.batches.map((b) => b.size)).toEqual([3, 3, 3]);
    const tiny = new DynamicBatcher(scorer, { maxBatchTokens: 5, maxBatchPairs: 100, maxQueuedPairs: 1_000 });
    const r = await tiny.submit(prepared.units.slice(0, 2));
    expect(r.logits).toHaveLength(2);
    expect(r.batches).toBe(2);
  });

  it("hands out each request's units longest first, so shared batches carry similar lengths", async () => {
    const scorer = new LexicalBatchScorer(100_000, 2);
    const padded: number[] = [];
    const batcher = new DynamicBatcher(scorer, {
      maxBatchTokens: 100_000,
      maxBatchPairs: 2,
      maxQueuedPairs: 100,
      observer: { onBatch: ({ paddedTokens }) => padded.push(paddedTokens) },
    });
    const unit = (tag: string, tokens: number) => ({ tokens, requestTag: tag, words: [], queryWords: new Set<string>() });
    const busy = batcher.submit([unit("busy", 1)]);
    const a = batcher.submit([10, 100, 10, 100].map((t) => unit("a", t)));
    const b = batcher.submit([100, 10, 100, 10].map((t) => unit("b", t)));
    const [, ra] = await Promise.all([busy, a, b]);
    expect(ra.logits).toHaveLength(4);
    // Longest-first within each request: (100,100) (10,10) for a, then the same for b →
    // 440 padded tokens, where taking units in input order would pair 10s with 100s: 800.
    expect(padded.slice(1)).toEqual([200, 20, 200, 20]);
  });

  it("refuses work beyond the queue with QUEUE_FULL, and a request larger than the queue with PAYLOAD_TOO_LARGE", async () => {
    const scorer = new LexicalBatchScorer(10_000, 20);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 4, maxQueuedPairs: 10 });
    const p = await scorer.prepare("q", docs(10, "q"));
    const first = batcher.submit(p.units.slice(0, 4)); // dispatched at once
    const second = batcher.submit(p.units.slice(0, 8)); // waits: 8 queued
    await expect(batcher.submit(p.units.slice(0, 3))).rejects.toMatchObject({ code: "QUEUE_FULL" });
    await expect(batcher.submit(new Array(11).fill(p.units[0]))).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE", details: { limit: 10 } });
    await Promise.all([first, second]);
    expect(batcher.queuedPairs).toBe(0);
  });

  it("drops an aborted request's queued units and rejects it with the signal's reason", async () => {
    const scorer = new LexicalBatchScorer(10_000, 10);
    let wasted = 0;
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 4, maxQueuedPairs: 1_000, observer: { onWasted: (n) => (wasted += n) } });
    const keep = await scorer.prepare("keep", docs(8, "keep"));
    const drop = await scorer.prepare("drop", docs(200, "drop"));
    const controller = new AbortController();
    const pKeep = batcher.submit(keep.units);
    const pDrop = batcher.submit(drop.units, controller.signal);
    // The kept request's 8 units go first (2 passes); abort once the dropped one is being scored.
    while (!scorer.batches.some((b) => b.tags.includes("drop"))) await new Promise((r) => setTimeout(r, 2));
    controller.abort(new WinnowError("TIMEOUT", "deadline"));
    await expect(pDrop).rejects.toMatchObject({ code: "TIMEOUT" });
    // Only the surviving request's units are left waiting.
    expect(batcher.queuedPairs).toBeLessThan(8);
    await pKeep;
    expect(batcher.queuedPairs).toBe(0);
    const dropScored = scorer.batches.flatMap((b) => b.tags).filter((t) => t === "drop").length;
    expect(dropScored).toBeLessThan(20);
    // Every pair scored for the dropped request counts as wasted (those in the pass running
    // at the abort once it ends), none of the kept one's.
    while (batcher.busy) await new Promise((r) => setTimeout(r, 2));
    expect(dropScored).toBeGreaterThan(0);
    expect(wasted).toBe(dropScored);
  });

  it("fails only the requests in a failed forward pass and keeps serving", async () => {
    const scorer = new LexicalBatchScorer(10_000, 1);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 4, maxQueuedPairs: 1_000 });
    const p = await scorer.prepare("q", docs(3, "q"));
    scorer.failNext = true;
    await expect(batcher.submit(p.units)).rejects.toThrow("simulated inference failure");
    const ok = await batcher.submit(p.units);
    expect(Array.from(ok.logits)).toEqual([0, 0, 0]);
  });

  it("with passesInFlight 2, hands the next pass to a serial scorer before the running one ends", async () => {
    // Like a model worker: passes run one after another, whatever is handed over.
    const inner = new LexicalBatchScorer(10_000, 5);
    let chain: Promise<unknown> = Promise.resolve();
    let handedOver = 0;
    let finished = 0;
    const aheadOfTime: boolean[] = [];
    let maxOutstanding = 0;
    const serial = {
      scoreUnits(units: Parameters<LexicalBatchScorer["scoreUnits"]>[0]) {
        handedOver++;
        maxOutstanding = Math.max(maxOutstanding, handedOver - finished);
        // Handed over while an earlier pass was still running.
        aheadOfTime.push(handedOver - 1 > finished);
        const run = chain.then(() => inner.scoreUnits(units)).finally(() => finished++);
        chain = run.catch(() => undefined);
        return run;
      },
    };
    const batcher = new DynamicBatcher(serial, { maxBatchTokens: 10_000, maxBatchPairs: 4, maxQueuedPairs: 1_000, passesInFlight: 2 });
    const a = await inner.prepare("alpha", docs(16, "alpha"));
    const b = await inner.prepare("beta", docs(6, "beta"));
    const [ra, rb] = await Promise.all([batcher.submit(a.units), batcher.submit(b.units)]);
    expect(Array.from(ra.logits)).toEqual(new Array(16).fill(0));
    expect(Array.from(rb.logits)).toEqual(new Array(6).fill(0));
    expect(inner.batches.reduce((n, x) => n + x.size, 0)).toBe(22);
    expect(maxOutstanding).toBe(2);
    // Every pass after the first went over while another ran: the scorer never waited on the batcher.
    expect(aheadOfTime.slice(1).every(Boolean)).toBe(true);
    expect(batcher.queuedPairs).toBe(0);
    expect(batcher.busy).toBe(false);
  });

  it("with maxQueueMs, refuses what would finish past it at the measured rate, and admits what fits", async () => {
    const scorer = new LexicalBatchScorer(10_000, 20);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 4, maxQueuedPairs: 10_000, maxQueueMs: 500 });
    const p = await scorer.prepare("q", docs(200, "q"));
    // Nothing measured yet: admitted on the pair count alone.
    const first = batcher.submit(p.units.slice(0, 4));
    await first;
    // One pass of 4 units took ~20 ms (≥ 5 ms per unit): 200 more would take ≥ 1 s.
    expect(() => batcher.checkCapacity(200)).toThrow(expect.objectContaining({ code: "QUEUE_FULL" }));
    try {
      batcher.checkCapacity(200);
    } catch (err) {
      expect((err as WinnowError).message).toMatch(/past its 500 ms deadline \(limits\.requestTimeoutMs\)/);
      expect((err as WinnowError).details.expectedMs).toBeGreaterThan(500);
    }
    await expect(batcher.submit(p.units)).rejects.toMatchObject({ code: "QUEUE_FULL" });
    // A request that fits the deadline is still admitted.
    const small = await batcher.submit(p.units.slice(0, 2));
    expect(small.logits).toHaveLength(2);
  });

  it("does not refuse a reserved request after tokenizing it, though its windows outnumber its reservation", async () => {
    const scorer = new LexicalBatchScorer(10_000, 20);
    const batcher = new DynamicBatcher(scorer, { maxBatchTokens: 10_000, maxBatchPairs: 2, maxQueuedPairs: 9 });
    const filler = await scorer.prepare("fill", docs(9, "fill"));
    const running = batcher.submit(filler.units); // 2 in the pass, 7 waiting
    // One document reserved, three windows once tokenized (48 words, 16 per window): 7 + 3 > 9.
    const release = batcher.reserve(1);
    const long = await scorer.prepare("long", [Array.from({ length: 48 }, (_, i) => `w${i}`).join(" ")]);
    expect(long.units).toHaveLength(3);
    release();
    await expect(batcher.submit(long.units)).rejects.toMatchObject({ code: "QUEUE_FULL" });
    const r = await batcher.submit(long.units, undefined, { reserved: true });
    expect(r.logits).toHaveLength(3);
    // The size check still holds for reserved requests.
    await expect(batcher.submit(new Array(10).fill(long.units[0]), undefined, { reserved: true })).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    await running;
  });
});
