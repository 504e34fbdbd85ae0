import type { Command } from "commander";
import { UsageError } from "../usage-error.js";
import { numberFlag } from "../number-flag.js";
import { addConnectionOptions, jobsConnection } from "./jobs.js";

/** `--limit 10/1s`: at most 10 chunks started per second, across all workers. */
export function parseRateLimit(value: string): { max: number; durationMs: number } {
  const m = /^(\d+)\/(\d+)?(ms|s|m)$/.exec(value.trim());
  if (!m) throw new UsageError(`--limit must be N/DURATION like 10/1s or 600/1m, got ${JSON.stringify(value)}`);
  const max = Number(m[1]);
  const durationMs = Number(m[2] ?? 1) * { ms: 1, s: 1000, m: 60_000 }[m[3] as "ms" | "s" | "m"];
  if (max < 1 || durationMs < 1) throw new UsageError(`--limit: both numbers must be at least 1, got ${JSON.stringify(value)}`);
  return { max, durationMs };
}

interface WorkerFlags {
  redis?: string;
  prefix: string;
  concurrency: string;
  limit?: string;
  lockMs: string;
}

/** `winnow worker`: processes job chunks until SIGTERM/SIGINT (then finishes the chunk in hand and exits). */
export function register(program: Command): void {
  addConnectionOptions(program.command("worker"))
    .description("process `winnow jobs` chunks from Redis (any number of workers, on any machine that reaches it and the datasets)")
    .option("--concurrency <n>", "chunks processed at once by this worker", "1")
    .option("--limit <n/duration>", "chunks started per duration across all workers (BullMQ's global limiter), e.g. 10/1s for an LLM endpoint's rate limit")
    .option("--lock-ms <ms>", "a dead worker's chunk is retried after about this long", "30000")
    .action(async (flags: WorkerFlags) => {
      const connection = jobsConnection(flags);
      const concurrency = numberFlag("--concurrency", flags.concurrency, { min: 1, max: 256 })!;
      const lockMs = numberFlag("--lock-ms", flags.lockMs, { min: 500, max: 3_600_000 })!;
      const limit = flags.limit === undefined ? undefined : parseRateLimit(flags.limit);
      const { runChunkWorker } = await import("../../jobs/chunk-worker.js");
      const log = (event: string, fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ event, pid: process.pid, ...fields })}\n`);
      const running = await runChunkWorker(connection, { concurrency, lockMs, limit }, {
        onStart: (job, chunk) => log("chunk-start", { job, chunk }),
        onDone: (job, chunk, kept) => log("chunk-done", { job, chunk, kept }),
        onFailed: (job, chunk, error) => log("chunk-failed", { job, chunk, error: error.message }),
      });
      log("ready", { concurrency, ...(limit ? { limit } : {}) });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
      });
      await running.close();
      log("stopped", {});
    });
}
