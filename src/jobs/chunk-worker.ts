import type { Job, Worker } from "bullmq";
import { WinnowError } from "../core/errors.js";
import { EvalChunkRunner } from "./eval-chunks.js";
import { LabelChunkRunner } from "./label-chunks.js";
import { openRedis, type JobsConnection } from "./job-client.js";
import { redisConnection, startChunkWorker, type ChunkData, type ChunkWorkerOptions } from "./job-queue.js";
import { JobStore } from "./job-store.js";

export interface ChunkWorkerEvents {
  /** A chunk started (the kill test waits for this line). */
  onStart?(jobId: string, chunk: number): void;
  /** A chunk finished; `kept` false when another attempt had already stored it. */
  onDone?(jobId: string, chunk: number, kept: boolean): void;
  onFailed?(jobId: string, chunk: number, error: Error): void;
}

export interface RunningWorker {
  worker: Worker<ChunkData>;
  close(): Promise<void>;
}

/**
 * `winnow worker`: takes chunks from the queue, runs them, stores each result once. A
 * chunk already stored (its earlier attempt finished, then the worker died before
 * acknowledging) is acknowledged without running again.
 */
export async function runChunkWorker(c: JobsConnection, options: Omit<ChunkWorkerOptions, "connection" | "prefix"> = {}, events: ChunkWorkerEvents = {}): Promise<RunningWorker> {
  const redis = openRedis(c.redis);
  const store = new JobStore(redis, c.prefix ?? "winnow");
  const evals = new EvalChunkRunner();
  const labels = new LabelChunkRunner();
  const process = async (job: Job<ChunkData>) => {
    const { jobId, chunk } = job.data;
    if (await store.hasChunk(jobId, chunk)) return { kept: false, skipped: true };
    const record = await store.get(jobId);
    const queries = record.chunkQueries[chunk];
    if (!queries) throw new WinnowError("INVALID_INPUT", `job ${jobId} has no chunk ${chunk}`);
    events.onStart?.(jobId, chunk);
    const spec = record.spec;
    const result = spec.kind === "eval" ? await evals.run(jobId, spec, queries) : await labels.run(jobId, spec, queries);
    const kept = await store.storeChunk(jobId, chunk, result);
    events.onDone?.(jobId, chunk, kept);
    return { kept };
  };
  const worker = startChunkWorker(process, { ...options, connection: redisConnection(c.redis), prefix: c.prefix });
  worker.on("failed", (job, err) => {
    if (job) events.onFailed?.(job.data.jobId, job.data.chunk, err);
  });
  worker.on("error", () => undefined);
  await worker.waitUntilReady();
  return {
    worker,
    close: async () => {
      await worker.close();
      await evals.close();
      await labels.close();
      redis.disconnect();
    },
  };
}
