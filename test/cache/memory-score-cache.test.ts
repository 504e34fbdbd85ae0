import { describe, expect, it } from "vitest";
import { MemoryScoreCache } from "../../src/cache/memory-score-cache.js";
import { scoreCacheKeys } from "../../src/cache/score-cache-key.js";

describe("scoreCacheKeys", () => {
  it("differs by scorer, query and document text, and is stable", () => {
    const [a] = scoreCacheKeys("m@1/fp32/512", "q", ["doc"]);
    expect(scoreCacheKeys("m@1/fp32/512", "q", ["doc"])[0]).toBe(a);
    expect(scoreCacheKeys("m@1/int8/512", "q", ["doc"])[0]).not.toBe(a);
    expect(scoreCacheKeys("m@1/fp32/512", "q2", ["doc"])[0]).not.toBe(a);
    expect(scoreCacheKeys("m@1/fp32/512", "q", ["doc."])[0]).not.toBe(a);
    // Hashes, so a long document costs the same as a short one.
    expect(scoreCacheKeys("m", "q", ["x".repeat(100_000)])[0].length).toBe(a.length);
  });
});

describe("MemoryScoreCache", () => {
  it("returns what was set and counts hits and misses", async () => {
    const c = new MemoryScoreCache();
    await c.setMany([["a", 1.5], ["b", -2]]);
    expect(await c.getMany(["a", "x", "b"])).toEqual([1.5, undefined, -2]);
    expect(c.stats()).toMatchObject({ hits: 2, misses: 1, errors: 0, entries: 2 });
    expect(c.stats().bytes).toBeGreaterThan(0);
  });

  it("stays within its byte bound, evicting the least recently used", async () => {
    const c = new MemoryScoreCache({ maxBytes: 2048 });
    const keys = Array.from({ length: 100 }, (_, i) => `key-${String(i).padStart(4, "0")}`);
    await c.setMany([[keys[0], 0]]);
    for (let i = 1; i < keys.length; i++) {
      await c.getMany([keys[0]]); // keep key 0 hot
      await c.setMany([[keys[i], i]]);
    }
    expect(c.stats().bytes!).toBeLessThanOrEqual(2048);
    expect(c.stats().entries!).toBeLessThan(100);
    const got = await c.getMany([keys[0], keys[1], keys[99]]);
    expect(got).toEqual([0, undefined, 99]);
  });

  it("expires entries after ttlMs", async () => {
    const c = new MemoryScoreCache({ ttlMs: 40 });
    await c.setMany([["a", 1]]);
    expect(await c.getMany(["a"])).toEqual([1]);
    await new Promise((r) => setTimeout(r, 80));
    expect(await c.getMany(["a"])).toEqual([undefined]);
  });

  it("rejects nonsensical bounds naming the field", () => {
    expect(() => new MemoryScoreCache({ maxBytes: 10 })).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", details: { field: "maxBytes", min: 1024 } }));
    expect(() => new MemoryScoreCache({ ttlMs: -1 })).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", details: { field: "ttlMs" } }));
  });
});
