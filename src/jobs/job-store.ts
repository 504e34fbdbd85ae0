import type { Redis } from "ioredis";
import { WinnowError } from "../core/errors.js";
import type { JobSpec } from "./job-spec.js";

/** The Redis keys of one job, under the deployment's prefix. */
function keys(prefix: string, id: string) {
  return { job: `${prefix}:job:${id}`, results: `${prefix}:job:${id}:results`, attempts: `${prefix}:job:${id}:attempts` };
}

export interface JobRecord {
  id: string;
  spec: JobSpec;
  chunks: number;
  /** Query ids of each chunk, in order: the merge order. */
  chunkQueries: string[][];
  createdAt: string;
}

/**
 * A job's description and its chunk results in Redis. Results are written with HSETNX:
 * the first finished attempt of a chunk is the one kept, so a chunk retried after a
 * worker died (or run twice by a stalled lock) is never counted twice.
 */
export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = "winnow",
  ) {}

  /** Records the job unless it exists (a resubmission); true when created. */
  async create(record: JobRecord): Promise<boolean> {
    const k = keys(this.prefix, record.id);
    return (await this.redis.setnx(k.job, JSON.stringify(record))) === 1;
  }

  async get(id: string): Promise<JobRecord> {
    const raw = await this.redis.get(keys(this.prefix, id).job);
    if (raw === null) throw new WinnowError("NOT_FOUND", `job ${id}: no such job in this Redis (prefix ${this.prefix})`, { details: { field: "id" } });
    return JSON.parse(raw) as JobRecord;
  }

  /** Stores a chunk's result once; false when another attempt already stored it (this one is dropped). */
  async storeChunk(id: string, chunk: number, result: unknown): Promise<boolean> {
    const k = keys(this.prefix, id);
    await this.redis.rpush(k.attempts, String(chunk));
    return (await this.redis.hsetnx(k.results, String(chunk), JSON.stringify(result))) === 1;
  }

  async hasChunk(id: string, chunk: number): Promise<boolean> {
    return (await this.redis.hexists(keys(this.prefix, id).results, String(chunk))) === 1;
  }

  /** Chunks done, and attempts that finished (more than done when a chunk ran twice). */
  async progress(id: string): Promise<{ done: number; finishedAttempts: number }> {
    const k = keys(this.prefix, id);
    const [done, finishedAttempts] = await Promise.all([this.redis.hlen(k.results), this.redis.llen(k.attempts)]);
    return { done, finishedAttempts };
  }

  /** Every chunk's result in chunk order; refuses while chunks are missing. */
  async results<T>(record: JobRecord): Promise<T[]> {
    const raw = await this.redis.hgetall(keys(this.prefix, record.id).results);
    const out: T[] = [];
    const missing: number[] = [];
    for (let c = 0; c < record.chunks; c++) {
      const v = raw[String(c)];
      if (v === undefined) missing.push(c);
      else out.push(JSON.parse(v) as T);
    }
    if (missing.length) {
      throw new WinnowError("UNAVAILABLE", `job ${record.id}: ${missing.length} of ${record.chunks} chunks not done yet (first: ${missing[0]}); see \`winnow jobs status ${record.id}\``, { details: { missing: missing.length } });
    }
    return out;
  }
}
