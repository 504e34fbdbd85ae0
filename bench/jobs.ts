/**
 * Distributed jobs: chunks per second of `winnow jobs submit eval` processed by 1 and by 2
 * `winnow worker` processes, against the single-process `winnow eval` over the same
 * queries, all in this run, on a redis-server started here. The workload is SciFact's test
 * split (300 queries; the bundled sample with --quick), BM25 depth 100 reranked by the
 * shipped learned model at 100 candidates, 10 queries a chunk. Each worker count uses its
 * own key prefix, so every run processes every chunk.
 *
 * Worker start (a process with tsx) is timed apart: chunks/s counts from every worker
 * being ready to the last chunk stored, so it includes each worker opening the dataset,
 * index and model on its first chunk (as the single process's time includes them). On
 * this 2-core machine two workers can at best double one.
 *
 *   npm run bench:jobs            # SciFact test split
 *   npm run bench:jobs -- --quick # the bundled 300-query sample, depth 30, candidates 20
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { register as registerEval } from "../src/cli/commands/eval.js";
import { register as registerWorker } from "../src/cli/commands/worker.js";
import { readCorpus } from "../src/eval/readers/beir.js";
import { submitJob, jobStatus } from "../src/jobs/job-client.js";
import { Bm25Index } from "../src/retrieval/bm25/bm25-index.js";
import { startRedisServer } from "../test/support/redis-server.js";

const root = resolve(fileURLToPath(import.meta.url), "../..");
const self = fileURLToPath(import.meta.url);

if (process.argv[2] === "--worker") {
  // A worker process of this benchmark: the `winnow worker` command itself.
  const program = new Command().name("winnow");
  registerWorker(program);
  await program.parseAsync(["node", "winnow", "worker", ...process.argv.slice(3)]);
} else {
  await main();
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const scifact = resolve(root, "../shared/datasets/scifact");
  const dataset = quick || !existsSync(join(scifact, "corpus.jsonl")) ? join(root, "examples/scifact-mini") : scifact;
  const depth = quick ? 30 : 100;
  const candidates = quick ? 20 : 100;
  const chunkSize = 10;
  // A saved index, as a deployment gives its workers (a shared volume), so no process spends the run building one.
  const scratch = mkdtempSync(join(tmpdir(), "winnow-bench-jobs-"));
  const index = join(scratch, "index");
  await (await Bm25Index.build(readCorpus(dataset))).save(index);
  const retriever = { type: "bm25", index };
  const redis = await startRedisServer();
  try {
    // Single process: `winnow eval` with the same flags, timed whole (index build included, as a worker's first chunk includes it).
    const evalProgram = new Command().name("winnow").exitOverride();
    registerEval(evalProgram);
    const log = console.log;
    console.log = () => undefined;
    const t0 = performance.now();
    try {
      await evalProgram.parseAsync(["node", "winnow", "eval", "--dataset", dataset, "--index", index, "--depth", String(depth), "--reranker", "learned", "--candidates", String(candidates), "--format", "json"]);
    } finally {
      console.log = log;
    }
    const singleMs = performance.now() - t0;

    const results: Array<{ workers: number; chunks: number; startMs: number; runMs: number }> = [];
    for (const workers of [1, 2]) {
      const prefix = `bench${workers}`;
      const connection = { redis: redis.url, prefix };
      const job = await submitJob({ kind: "eval", dataset, retriever, depth, candidates, chunkSize, reranker: { type: "learned" } }, connection);
      const started = performance.now();
      const children: ChildProcess[] = [];
      const ready: Array<Promise<void>> = [];
      for (let w = 0; w < workers; w++) {
        const child = spawn(process.execPath, ["--import", "tsx", self, "--worker", "--redis", redis.url, "--prefix", prefix], { stdio: ["ignore", "pipe", "inherit"] });
        children.push(child);
        ready.push(
          new Promise((resolveReady) => {
            let buf = "";
            child.stdout!.on("data", (c: Buffer) => {
              buf += c.toString();
              if (buf.includes('"event":"ready"')) resolveReady();
            });
          }),
        );
      }
      await Promise.all(ready);
      const readyAt = performance.now();
      for (;;) {
        const s = await jobStatus(job.id, connection);
        if (s.state === "done") break;
        if (s.state === "failed") throw new Error(`bench job failed: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const doneAt = performance.now();
      for (const c of children) c.kill("SIGTERM");
      await Promise.all(children.map((c) => new Promise((r) => c.once("exit", r))));
      results.push({ workers, chunks: job.chunks, startMs: readyAt - started, runMs: doneAt - readyAt });
    }

    const chunks = results[0].chunks;
    const single = chunks / (singleMs / 1000);
    console.log(`jobs: ${dataset.includes("scifact-mini") ? "examples/scifact-mini" : "SciFact test"} (${chunks} chunks of ${chunkSize} queries), bm25 depth ${depth} → learned@${candidates}`);
    console.log(`  single process (winnow eval)  ${single.toFixed(2)} chunks/s  (${(singleMs / 1000).toFixed(1)} s)   baseline 1.00×`);
    for (const r of results) {
      const rate = r.chunks / (r.runMs / 1000);
      console.log(`  ${r.workers} worker${r.workers > 1 ? "s" : " "}                     ${rate.toFixed(2)} chunks/s  (${(r.runMs / 1000).toFixed(1)} s after ${(r.startMs / 1000).toFixed(1)} s of worker start)   ${(rate / single).toFixed(2)}× single, ${(rate / (results[0].chunks / (results[0].runMs / 1000))).toFixed(2)}× one worker`);
    }
  } finally {
    await redis.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
