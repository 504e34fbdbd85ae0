import { Gauge, type Registry } from "prom-client";
import { RedisScoreCache } from "../cache/redis-score-cache.js";
import type { SharedCacheConfig } from "./config.js";

/**
 * The server's Redis score cache, shared by every batched model and every replica. It
 * answers misses while Redis is away (RedisScoreCache never fails a rerank); these gauges
 * and /ready say so, so an outage is seen rather than only felt as latency.
 */
export class SharedScoreCache {
  readonly cache: RedisScoreCache;
  private reachable = true;

  constructor(
    readonly config: SharedCacheConfig,
    registry: Registry,
    logger: { warn(message: string): void },
  ) {
    this.cache = new RedisScoreCache({ url: config.url, prefix: config.prefix, ttlSeconds: config.ttlSeconds, timeoutMs: config.timeoutMs, logger });
    const cache = this.cache;
    const self = this;
    registry.registerMetric(
      new Gauge({
        name: "winnow_score_cache_up",
        help: "1 while the shared (Redis) score cache answered its last round trip, 0 while requests are scored without it",
        registers: [],
        async collect() {
          this.set((await self.ping()) ? 1 : 0);
        },
      }),
    );
    registry.registerMetric(
      new Gauge({
        name: "winnow_score_cache_errors",
        help: "Failed round trips to the shared score cache since start (each answered as misses)",
        registers: [],
        collect() {
          this.set(cache.stats().errors);
        },
      }),
    );
  }

  /** Whether Redis answers now (within the cache's timeout); remembered for /ready's body. */
  async ping(): Promise<boolean> {
    this.reachable = await this.cache.ping();
    return this.reachable;
  }

  get lastReachable(): boolean {
    return this.reachable;
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}
