import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerEval } from "../../src/cli/commands/eval.js";
import { register as registerJobs } from "../../src/cli/commands/jobs.js";
import { runCommand } from "../support/run-command.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { registerSlowLexical } from "./slow-lexical-reranker.js";

const here = dirname(fileURLToPath(import.meta.url));
const mini = join(here, "../../examples/scifact-mini");

interface WorkerProcess {
  child: ChildProcess;
  events: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first event of this kind. */
  next(event: string): Promise<Record<string, unknown>>;
}

function startWorker(redis: string): WorkerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures", "winnow-worker.ts"), "worker", "--redis", redis, "--lock-ms", "1500"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WINNOW_TEST_RERANK_MS: "15" } });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ event: string; resolve: (e: Record<string, unknown>) => void }> = [];
  let buffer = "";
  child.stdout!.on("data", (c: Buffer) => {
    buffer += c.toString();
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      for (const w of waiters.filter((w) => w.event === e.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  child.stderr!.on("data", () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  return {
    child,
    events,
    exited,
    next: (event) => {
      const seen = events.find((e) => e.event === event);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ event, resolve }));
    },
  };
}

describe("winnow jobs on BullMQ with a real redis-server", () => {
  let redis: RedisServer;
  let dir: string;
  const workers: WorkerProcess[] = [];
  beforeAll(async () => {
    // The same pace here (the single-process run) as in the workers.
    process.env.WINNOW_TEST_RERANK_MS = "15";
    registerSlowLexical();
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), "winnow-jobs-"));
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill("SIGKILL");
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("three workers, one SIGKILLed mid-chunk: the job completes and its merged run equals `winnow eval`'s byte for byte, no chunk counted twice", async () => {
    const evalArgs = ["--dataset", mini, "--reranker", "slow-lexical", "--depth", "30", "--candidates", "10"];
    const single = join(dir, "single.run");
    const expected = JSON.parse(await runCommand(registerEval, ["eval", ...evalArgs, "--run-out", single, "--format", "json"]));

    const submitted = JSON.parse(await runCommand(registerJobs, ["jobs", "submit", "eval", ...evalArgs, "--chunk-size", "10", "--redis", redis.url]));
    expect(submitted).toMatchObject({ chunks: 30, created: true });
    const id = submitted.id as string;

    workers.push(startWorker(redis.url), startWorker(redis.url), startWorker(redis.url));
    await Promise.all(workers.map((w) => w.next("ready")));
    // Kill the first worker in the middle of its first chunk (each chunk reranks 10 queries, 15 ms each).
    const started = await workers[0].next("chunk-start");
    workers[0].child.kill("SIGKILL");
    expect(await workers[0].exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(workers[0].events.some((e) => e.event === "chunk-done" && e.chunk === started.chunk)).toBe(false);

    let status: Record<string, unknown> = {};
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      status = JSON.parse(await runCommand(registerJobs, ["jobs", "status", id, "--redis", redis.url]));
      if (status.state !== "running") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toMatchObject({ id, kind: "eval", chunks: 30, done: 30, failed: 0, state: "done" });
    // The killed chunk was finished by a survivor.
    const survivors = workers.slice(1).flatMap((w) => w.events.filter((e) => e.event === "chunk-done"));
    expect(survivors.some((e) => e.chunk === started.chunk)).toBe(true);
    // Kept results: exactly one per chunk, whatever ran twice.
    const kept = survivors.filter((e) => e.kept === true).map((e) => e.chunk as number);
    expect(kept.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));

    const merged = join(dir, "merged.run");
    const results = JSON.parse(await runCommand(registerJobs, ["jobs", "results", id, "--out", merged, "--redis", redis.url]));
    expect(readFileSync(merged, "utf8")).toBe(readFileSync(single, "utf8"));
    expect(results.numQueries).toBe(expected.numQueries);
    expect(results.metrics.ndcg_cut_10).toBe(expected.metrics.ndcg_cut_10);

    // Submitting the same job again is the same job: nothing is queued or run again.
    const again = JSON.parse(await runCommand(registerJobs, ["jobs", "submit", "eval", ...evalArgs, "--chunk-size", "10", "--redis", redis.url]));
    expect(again).toEqual({ id, chunks: 30, created: false });
    await new Promise((r) => setTimeout(r, 500));
    const probe = new Redis(redis.url);
    try {
      expect(await probe.hlen(`winnow:job:${id}:results`)).toBe(30);
    } finally {
      probe.disconnect();
    }
    expect(workers.slice(1).flatMap((w) => w.events.filter((e) => e.event === "chunk-done")).length).toBe(survivors.length);

    for (const w of workers.slice(1)) w.child.kill("SIGTERM");
    for (const w of workers.slice(1)) expect(await w.exited).toEqual({ code: 0, signal: null });
  }, 120_000);

  it("refuses what it cannot run, naming the flag", async () => {
    await expect(runCommand(registerJobs, ["jobs", "submit", "eval", "--dataset", mini])).rejects.toThrow(/--redis/);
    await expect(runCommand(registerJobs, ["jobs", "status", "nope", "--redis", redis.url])).rejects.toThrow(/no such job/);
    await expect(runCommand(registerJobs, ["jobs", "submit", "eval", "--dataset", join(dir, "missing"), "--redis", redis.url])).rejects.toThrow(/missing/);
  });
});
