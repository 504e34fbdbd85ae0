import { createRequire } from "node:module";
import type { ConnectionOptions, Job, Queue, Worker } from "bullmq";
import { WinnowError } from "../core/errors.js";

/** The queue every chunk goes through; workers of any job kind take from it. */
export const CHUNK_QUEUE = "winnow-chunks";

export interface ChunkData {
  jobId: string;
  chunk: number;
}

/** BullMQ connection options from a redis:// URL (BullMQ workers need maxRetriesPerRequest: null). */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WinnowError("CONFIG_INVALID", `--redis: not a URL: ${JSON.stringify(url)}`, { details: { field: "redis" } });
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new WinnowError("CONFIG_INVALID", `--redis: expected redis:// or rediss://, got ${u.protocol}`, { details: { field: "redis" } });
  return {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    db: u.pathname && u.pathname !== "/" ? Number(u.pathname.slice(1)) : 0,
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

type BullMq = typeof import("bullmq");
// Required on first use so `import "winnow"` never loads BullMQ.
const bullmq = (): BullMq => createRequire(import.meta.url)("bullmq") as BullMq;

export interface ChunkQueueOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix (several deployments may share a Redis). */
  prefix?: string;
}

export function openChunkQueue(options: ChunkQueueOptions): Queue<ChunkData> {
  const { Queue: BullQueue } = bullmq();
  return new BullQueue<ChunkData>(CHUNK_QUEUE, { connection: options.connection, prefix: options.prefix ?? "winnow" });
}

/** Retry policy of every chunk: a failed or orphaned chunk is tried again after 1 s, 2 s, 4 s… */
export const CHUNK_ATTEMPTS = 6;
export const chunkJobOptions = (jobId: string, chunk: number) => ({
  // The BullMQ id is the chunk's identity: adding it again (a resubmitted job) is a no-op.
  jobId: `${jobId}-${chunk}`,
  attempts: CHUNK_ATTEMPTS,
  backoff: { type: "exponential" as const, delay: 1000 },
  removeOnComplete: { age: 7 * 86_400 },
  removeOnFail: { age: 7 * 86_400 },
});

export interface ChunkWorkerOptions extends ChunkQueueOptions {
  concurrency?: number;
  /**
   * Chunks started per `durationMs`, across every worker on this queue (BullMQ's global
   * rate limiter): the way to keep an LLM endpoint's rate limit with many workers.
   */
  limit?: { max: number; durationMs: number };
  /** How long a chunk's lock lives without renewal: a killed worker's chunk is retried after about this long. */
  lockMs?: number;
}

export function startChunkWorker(process: (job: Job<ChunkData>) => Promise<unknown>, options: ChunkWorkerOptions): Worker<ChunkData> {
  const { Worker: BullWorker } = bullmq();
  const lockDuration = options.lockMs ?? 30_000;
  return new BullWorker<ChunkData>(CHUNK_QUEUE, process, {
    connection: options.connection,
    prefix: options.prefix ?? "winnow",
    concurrency: options.concurrency ?? 1,
    lockDuration,
    stalledInterval: lockDuration,
    // A chunk whose worker died is not a failure of the chunk: let it be picked up again.
    maxStalledCount: CHUNK_ATTEMPTS,
    ...(options.limit ? { limiter: { max: options.limit.max, duration: options.limit.durationMs } } : {}),
  });
}
