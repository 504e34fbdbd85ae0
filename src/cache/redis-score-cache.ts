import { createRequire } from "node:module";
import type { Redis, RedisOptions } from "ioredis";
import { WinnowError } from "../core/errors.js";
import type { ScoreCache, ScoreCacheStats } from "../core/score-cache.js";

export interface RedisScoreCacheOptions {
  /** redis://host:port/db (default redis://127.0.0.1:6379). Ignored when `client` is given. */
  url?: string;
  /** Use an existing ioredis client (the cache will not close it). */
  client?: Redis;
  /** Key prefix, so several caches (or apps) can share one Redis. */
  prefix?: string;
  /** Entry lifetime in seconds (default 7 days; 0 = no expiry). */
  ttlSeconds?: number;
  /** Give up on one cache round trip after this long and answer misses (default 100 ms). */
  timeoutMs?: number;
  /** Where outage/recovery lines go (default: stderr). */
  logger?: { warn(message: string): void };
}

/**
 * A ScoreCache in Redis so replicas share scores. A cache must never fail a rerank:
 * when Redis is down or slow, operations log once per outage, count an error and
 * answer misses; ioredis keeps reconnecting in the background.
 */
export class RedisScoreCache implements ScoreCache {
  readonly kind = "redis";
  private readonly client: Redis;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly logger: { warn(message: string): void };
  private hits = 0;
  private misses = 0;
  private errors = 0;
  private down = false;
  private readonly timeoutMs: number;

  constructor(options: RedisScoreCacheOptions = {}) {
    const ttl = options.ttlSeconds ?? 7 * 86_400;
    if (!Number.isInteger(ttl) || ttl < 0) {
      throw new WinnowError("CONFIG_INVALID", `cache.ttlSeconds must be an integer >= 0, got ${String(ttl)}`, { details: { field: "ttlSeconds" } });
    }
    const timeoutMs = options.timeoutMs ?? 100;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new WinnowError("CONFIG_INVALID", `cache.timeoutMs must be > 0, got ${String(timeoutMs)}`, { details: { field: "timeoutMs" } });
    }
    this.ttlSeconds = ttl;
    this.timeoutMs = timeoutMs;
    this.prefix = options.prefix ?? "winnow:score:";
    this.logger = options.logger ?? { warn: (m) => process.stderr.write(`${m}\n`) };
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else {
      const redisOptions: RedisOptions = {
        // Fail commands at once while disconnected instead of queueing them behind a dead socket.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: timeoutMs,
        connectTimeout: Math.max(timeoutMs, 1000),
        retryStrategy: (times) => Math.min(times * 200, 2000),
      };
      // Required here, not imported at the top: `import "winnow"` must not load ioredis for users who never cache in Redis.
      const { Redis: RedisClient } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
      this.client = new RedisClient(options.url ?? "redis://127.0.0.1:6379", redisOptions);
      this.ownsClient = true;
      // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
      this.client.on("error", (err: Error) => this.failed(err));
    }
  }

  private failed(err: unknown): void {
    this.errors++;
    if (!this.down) {
      this.down = true;
      this.logger.warn(`winnow: redis score cache unavailable (${err instanceof Error ? err.message : String(err)}); continuing without the cache`);
    }
  }

  private succeeded(): void {
    if (this.down) {
      this.down = false;
      this.logger.warn("winnow: redis score cache reachable again");
    }
  }

  /**
   * With the offline queue off, a command sent before the first connection completes
   * fails; so wait (up to the timeout) while the client is still making its first
   * connection. During an outage (status "reconnecting") fail at once instead, so a
   * dead Redis costs no latency.
   */
  private async ready(): Promise<void> {
    const status = this.client.status;
    if (status === "ready") return;
    if (status !== "wait" && status !== "connecting" && status !== "connect") {
      throw new Error(`redis connection is ${status}`);
    }
    if (status === "wait") void this.client.connect().catch(() => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off("ready", onReady);
        reject(new Error(`redis not ready within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once("ready", onReady);
    });
  }

  async getMany(keys: readonly string[]): Promise<Array<number | undefined>> {
    if (keys.length === 0) return [];
    try {
      await this.ready();
      const raw = await this.client.mget(keys.map((k) => this.prefix + k));
      this.succeeded();
      return raw.map((v) => {
        const n = v === null ? NaN : Number(v);
        if (Number.isNaN(n)) {
          this.misses++;
          return undefined;
        }
        this.hits++;
        return n;
      });
    } catch (err) {
      this.failed(err);
      this.misses += keys.length;
      return keys.map(() => undefined);
    }
  }

  async setMany(entries: ReadonlyArray<readonly [string, number]>): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.ready();
      const tx = this.client.pipeline();
      for (const [k, v] of entries) {
        // String(number) round-trips doubles exactly.
        if (this.ttlSeconds > 0) tx.set(this.prefix + k, String(v), "EX", this.ttlSeconds);
        else tx.set(this.prefix + k, String(v));
      }
      const replies = await tx.exec();
      const failed = replies?.find(([e]) => e);
      if (failed) throw failed[0];
      this.succeeded();
    } catch (err) {
      this.failed(err);
    }
  }

  /** Whether Redis answers a PING within the timeout now (for readiness probes); never throws. */
  async ping(): Promise<boolean> {
    try {
      await this.ready();
      const pong = await this.client.ping();
      this.succeeded();
      return pong === "PONG";
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  stats(): ScoreCacheStats {
    return { hits: this.hits, misses: this.misses, errors: this.errors };
  }

  async close(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
