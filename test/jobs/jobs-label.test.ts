import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerJobs } from "../../src/cli/commands/jobs.js";
import { register as registerLabel } from "../../src/cli/commands/label.js";
import { parseRateLimit } from "../../src/cli/commands/worker.js";
import { runChunkWorker, type RunningWorker } from "../../src/jobs/chunk-worker.js";
import { runCommand } from "../support/run-command.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";
import { registerSlowLexical } from "./slow-lexical-reranker.js";

const mini = new URL("../../examples/scifact-mini", import.meta.url).pathname;

describe("winnow jobs submit label: two workers sharing one rate limit", () => {
  let redis: RedisServer;
  let dir: string;
  beforeAll(async () => {
    process.env.WINNOW_TEST_RERANK_MS = "5";
    registerSlowLexical();
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), "winnow-jobs-label-"));
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the qrels `winnow label` writes, byte for byte, with 2 chunks a second started across both workers", async () => {
    const args = ["--dataset", mini, "--split", "test", "--reranker", "slow-lexical", "--candidates", "10", "--max-queries", "40"];
    const single = join(dir, "single.tsv");
    await runCommand(registerLabel, ["label", ...args, "--out", single]);

    const submitted = JSON.parse(await runCommand(registerJobs, ["jobs", "submit", "label", ...args, "--chunk-size", "4", "--redis", redis.url]));
    expect(submitted).toMatchObject({ chunks: 10, created: true });
    const starts: number[] = [];
    const workers: RunningWorker[] = [];
    const limit = parseRateLimit("2/1s");
    expect(limit).toEqual({ max: 2, durationMs: 1000 });
    for (let i = 0; i < 2; i++) workers.push(await runChunkWorker({ redis: redis.url }, { limit, lockMs: 5000 }, { onStart: () => starts.push(performance.now()) }));
    try {
      for (;;) {
        const status = JSON.parse(await runCommand(registerJobs, ["jobs", "status", submitted.id, "--redis", redis.url]));
        if (status.state === "done") break;
        expect(status.state).toBe("running");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    // BullMQ's limiter is one fixed window for the whole queue: 2 chunks per second, whichever worker
    // takes them, so 10 chunks span at least 5 windows (unlimited, all would start within the first second or two).
    starts.sort((a, b) => a - b);
    expect(starts).toHaveLength(10);
    expect(starts[9] - starts[0]).toBeGreaterThanOrEqual(3900);

    const merged = join(dir, "merged.tsv");
    const result = JSON.parse(await runCommand(registerJobs, ["jobs", "results", submitted.id, "--out", merged, "--redis", redis.url]));
    expect(result).toMatchObject({ kind: "label", labelled: 40, degraded: 0 });
    const text = readFileSync(merged, "utf8");
    expect(text).toBe(readFileSync(single, "utf8"));
    expect(text.split("\n").filter(Boolean)).toHaveLength(1 + result.rows);
  }, 60_000);

  it("--limit and label flags are checked", async () => {
    expect(() => parseRateLimit("10 per second")).toThrow(/--limit must be N\/DURATION/);
    await expect(runCommand(registerJobs, ["jobs", "submit", "label", "--dataset", mini, "--redis", redis.url])).rejects.toThrow(/--reranker is required/);
    await expect(runCommand(registerJobs, ["jobs", "submit", "label", "--dataset", mini, "--reranker", "slow-lexical", "--rank-cuts", "3,1,10", "--redis", redis.url])).rejects.toThrow(/--rank-cuts/);
  });
});
