import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdaptedReranker } from "../../src/core/adapted-reranker.js";
import { RedisScoreCache } from "../../src/cache/redis-score-cache.js";
import { ScriptedReranker } from "../support/fake-retrieval.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("RedisScoreCache", () => {
  it("round-trips scores exactly and counts hits and misses", async () => {
    const cache = new RedisScoreCache({ url: server.url, prefix: "t1:" });
    try {
      await cache.setMany([["a", 0.1 + 0.2], ["b", -3.5e-9]]);
      expect(await cache.getMany(["a", "x", "b"])).toEqual([0.1 + 0.2, undefined, -3.5e-9]);
      expect(cache.stats()).toEqual({ hits: 2, misses: 1, errors: 0 });
    } finally {
      await cache.close();
    }
  });

  it("sets a TTL on entries", async () => {
    const cache = new RedisScoreCache({ url: server.url, prefix: "t2:", ttlSeconds: 1 });
    try {
      await cache.setMany([["k", 1]]);
      expect(await cache.getMany(["k"])).toEqual([1]);
      await new Promise((r) => setTimeout(r, 1_200));
      expect(await cache.getMany(["k"])).toEqual([undefined]);
    } finally {
      await cache.close();
    }
  });

  it("two replicas share scores: the second never calls its model", async () => {
    const a = new RedisScoreCache({ url: server.url, prefix: "t3:" });
    const b = new RedisScoreCache({ url: server.url, prefix: "t3:" });
    try {
      const modelA = new ScriptedReranker("m", (d) => d.text.length);
      const modelB = new ScriptedReranker("m", (d) => d.text.length);
      const first = await new AdaptedReranker(modelA, { cache: a }).rerank("q", ["aa", "a", "aaa"]);
      const second = await new AdaptedReranker(modelB, { cache: b }).rerank("q", ["aa", "a", "aaa"]);
      expect(second).toEqual(first.map((r) => ({ ...r, details: { cached: true } })));
      expect(modelA.scoredTexts).toHaveLength(3);
      expect(modelB.scoredTexts).toHaveLength(0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("Redis down: logs once, counts errors, answers misses, and the rerank still succeeds", async () => {
    const lines: string[] = [];
    // A port nothing listens on (the server's port after it stops would race other tests).
    const other = await startRedisServer();
    const url = other.url;
    await other.stop();
    const cache = new RedisScoreCache({ url, timeoutMs: 200, logger: { warn: (m) => lines.push(m) } });
    try {
      const model = new ScriptedReranker("m", (d) => d.text.length);
      const r = await new AdaptedReranker(model, { cache: cache }).rerank("q", ["aa", "a"]);
      expect(r.map((x) => x.score)).toEqual([2, 1]);
      expect(await cache.getMany(["z"])).toEqual([undefined]);
      expect(cache.stats().errors).toBeGreaterThanOrEqual(3);
      expect(lines.filter((l) => l.includes("unavailable"))).toHaveLength(1);
    } finally {
      await cache.close();
    }
  });

  it("recovers when Redis comes back, and says so", async () => {
    const lines: string[] = [];
    let redis = await startRedisServer();
    const port = redis.port;
    const cache = new RedisScoreCache({ url: redis.url, prefix: "t5:", timeoutMs: 200, logger: { warn: (m) => lines.push(m) } });
    try {
      await cache.setMany([["k", 2]]);
      await redis.stop();
      expect(await cache.getMany(["k"])).toEqual([undefined]);
      expect(lines.some((l) => l.includes("unavailable"))).toBe(true);
      redis = await startRedisServer({ port });
      // ioredis reconnects in the background (retry delay ≤ 2 s); the data died with the old server
      const deadline = Date.now() + 8_000;
      for (;;) {
        await cache.setMany([["k", 3]]);
        if ((await cache.getMany(["k"]))[0] === 3) break;
        if (Date.now() > deadline) throw new Error("cache did not recover within 8 s");
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(lines.at(-1)).toMatch(/reachable again/);
    } finally {
      await cache.close();
      await redis.stop();
    }
  });

  it("rejects a bad ttl naming the field", () => {
    expect(() => new RedisScoreCache({ url: server.url, ttlSeconds: -1 })).toThrow(/ttlSeconds must be an integer >= 0/);
  });
});
