import { createRequire } from "node:module";
import { resolve } from "node:path";
import type { Redis, RedisOptions } from "ioredis";
import { WinnowError } from "../core/errors.js";
import { evaluateRun } from "../eval/evaluate.js";
import { loadBeirDataset } from "../eval/readers/beir.js";
import { writeRun } from "../eval/readers/trec.js";
import { DEFAULT_METRICS } from "../eval/metrics.js";
import { evalChunks, mergeEvalChunks, type EvalChunkResult } from "./eval-chunks.js";
import { labelChunks, writeLabelChunks, type LabelChunkResult } from "./label-chunks.js";
import { chunkJobOptions, openChunkQueue, redisConnection, type ChunkData } from "./job-queue.js";
import { jobIdOf, jobSpecSchema, type JobSpec } from "./job-spec.js";
import { JobStore, type JobRecord } from "./job-store.js";

export interface JobsConnection {
  /** redis://host:6379/0 */
  redis: string;
  /** Key prefix of jobs and queue (default "winnow"). */
  prefix?: string;
}

/** An ioredis client for the job store; required on first use so `import "winnow"` never loads it. */
export function openRedis(url: string): Redis {
  const { Redis: RedisClient } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
  const options = redisConnection(url) as RedisOptions;
  const client = new RedisClient({ ...options, maxRetriesPerRequest: 3 });
  client.on("error", () => undefined);
  return client;
}

async function withStore<T>(c: JobsConnection, work: (store: JobStore) => Promise<T>): Promise<T> {
  const redis = openRedis(c.redis);
  try {
    return await work(new JobStore(redis, c.prefix ?? "winnow"));
  } finally {
    redis.disconnect();
  }
}

/**
 * Splits a job into chunks and queues them. The job id is a hash of the spec, and each
 * chunk's queue id derives from it: submitting the same job again queues nothing new.
 */
export async function submitJob(input: unknown, c: JobsConnection): Promise<{ id: string; chunks: number; created: boolean }> {
  const parsed = jobSpecSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WinnowError("CONFIG_INVALID", `job: ${issue.path.join(".") || "(root)"}: ${issue.message}`, { details: { field: issue.path.join(".") } });
  }
  // Workers may run elsewhere: the folder must be the same absolute path there.
  const spec: JobSpec = { ...parsed.data, dataset: resolve(parsed.data.dataset) };
  const id = jobIdOf(spec);
  const chunkQueries = spec.kind === "eval" ? await evalChunks(spec) : await labelChunks(spec);
  const record: JobRecord = { id, spec, chunks: chunkQueries.length, chunkQueries, createdAt: new Date().toISOString() };
  const created = await withStore(c, (store) => store.create(record));
  const queue = openChunkQueue({ connection: redisConnection(c.redis), prefix: c.prefix });
  try {
    await queue.addBulk(chunkQueries.map((_, chunk) => ({ name: spec.kind, data: { jobId: id, chunk } satisfies ChunkData, opts: chunkJobOptions(id, chunk) })));
  } finally {
    await queue.close();
  }
  return { id, chunks: chunkQueries.length, created };
}

export interface JobStatus {
  id: string;
  kind: string;
  chunks: number;
  done: number;
  /** Finished attempts beyond one per chunk: chunks that ran twice (kept once). */
  duplicates: number;
  failed: number;
  state: "done" | "running" | "failed";
}

export async function jobStatus(id: string, c: JobsConnection): Promise<JobStatus> {
  return withStore(c, async (store) => {
    const record = await store.get(id);
    const { done, finishedAttempts } = await store.progress(id);
    const queue = openChunkQueue({ connection: redisConnection(c.redis), prefix: c.prefix });
    let failed = 0;
    try {
      const failedJobs = await queue.getFailed(0, -1);
      failed = failedJobs.filter((j) => j.data.jobId === id && j.attemptsMade >= (j.opts.attempts ?? 1)).length;
    } finally {
      await queue.close();
    }
    return { id, kind: record.spec.kind, chunks: record.chunks, done, duplicates: finishedAttempts - done, failed, state: done === record.chunks ? "done" : failed > 0 ? "failed" : "running" };
  });
}

/**
 * Merges a finished job's chunks and writes the output atomically: for eval, the TREC run
 * `winnow eval --run-out` writes (and its measures); for label, the qrels `winnow label --out` writes.
 */
export async function writeJobResults(id: string, out: string, c: JobsConnection): Promise<Record<string, unknown>> {
  return withStore(c, async (store) => {
    const record = await store.get(id);
    const spec = record.spec;
    if (spec.kind === "label") {
      const chunks = await store.results<LabelChunkResult>(record);
      return { kind: "label", ...(await writeLabelChunks(out, record.chunkQueries, chunks)) };
    }
    const chunks = await store.results<EvalChunkResult>(record);
    const run = mergeEvalChunks(chunks);
    await writeRun(out, run, { tag: spec.reranker ? `${spec.retriever.type}+${spec.reranker.type}` : spec.retriever.type });
    const dataset = await loadBeirDataset(spec.dataset, spec.split);
    const evaluation = evaluateRun(dataset.qrels, run, DEFAULT_METRICS, { depth: spec.depth });
    return { kind: "eval", metrics: evaluation.metrics, numQueries: run.size };
  });
}
