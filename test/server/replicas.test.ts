import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LexicalBatchScorer, LexicalReranker } from "./lexical-scorer.js";
import { startRedisServer, type RedisServer } from "../support/redis-server.js";

const here = dirname(fileURLToPath(import.meta.url));
const TTL_S = 5;

interface Replica {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** `winnow serve` in a child process (the CLI itself, with the lexical test reranker registered); resolves with its URL once it logs it. */
async function startReplica(args: string[], env: NodeJS.ProcessEnv): Promise<Replica> {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures", "winnow-cli-lexical.ts"), "serve", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /winnow serve: .* at (http:\/\/[^\s)]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", () => reject(new Error(`replica exited early: ${out} ${err}`)));
  });
  return { child, url, exited, stderr: () => err };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const words = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "honey", "iris", "jade"];
/** Request i: a query of three words and eight documents, a third of them repeated across requests (cache traffic). */
function request(i: number): { query: string; documents: string[] } {
  const w = (k: number) => words[(i * 7 + k * 3) % words.length];
  return { query: `${w(0)} ${w(1)} ${w(2)}`, documents: Array.from({ length: 8 }, (_, d) => (d < 3 ? `shared ${words[d]} ${words[(d + 4) % 10]}` : `doc ${i} ${w(d)} ${w(d + 1)} ${d}`)) };
}

/** What any replica must answer for a request: the same scorer, in process. */
async function expectedOrder(r: { query: string; documents: string[] }): Promise<number[]> {
  const ranked = await new LexicalReranker(new LexicalBatchScorer(100_000, 0)).rerank(r.query, r.documents);
  return ranked.map((x) => x.index);
}

type Outcome = { status: number; order?: number[] } | { network: string };

async function send(url: string, body: object): Promise<Outcome> {
  try {
    const res = await fetch(`${url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", ...body }) });
    const json = (await res.json().catch(() => ({}))) as { results?: Array<{ index: number }> };
    return { status: res.status, order: json.results?.map((r) => r.index) };
  } catch (err) {
    return { network: String((err as Error).cause ?? err) };
  }
}

/** A client may retry these elsewhere: the connection failed, or the replica said come back (503, 429). */
const retryable = (o: Outcome) => "network" in o || o.status === 503 || o.status === 429;

describe("two winnow serve replicas sharing a Redis score cache", () => {
  let redis: RedisServer;
  let dir: string;
  const replicas: Replica[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    dir = mkdtempSync(join(tmpdir(), "winnow-replicas-"));
  });
  afterAll(async () => {
    for (const r of replicas) r.child.kill("SIGKILL");
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shares scores, survives a SIGKILLed replica mid-load, drains on SIGTERM, and leaves nothing in Redis past the TTL", async () => {
    // The file names a Redis that does not exist: WINNOW_SCORE_CACHE overrides it (flag > env > file).
    const config = join(dir, "serve.yaml");
    writeFileSync(config, `models:\n  - id: m\n    reranker: { type: lexical-test }\n    worker: false\ncache:\n  url: redis://127.0.0.1:1\n  prefix: "replicas:"\n`);
    const env = { WINNOW_SCORE_CACHE: redis.url, WINNOW_SCORE_CACHE_TTL: String(TTL_S), WINNOW_LOG_LEVEL: "info", WINNOW_TEST_PASS_MS: "3" };
    const [a, b] = await Promise.all([
      startReplica(["--config", config, "--port", "0"], env),
      startReplica(["--config", config, "--port", "0"], { ...env, WINNOW_DRAIN_DELAY: "1500" }),
    ]);
    replicas.push(a, b);
    for (const r of [a, b]) {
      // The cache client may still be making its first connection (100 ms per probe): /ready says "unreachable" until it has.
      let ready: unknown;
      for (let i = 0; i < 50; i++) {
        ready = await (await fetch(`${r.url}/ready`)).json();
        if ((ready as { cache?: string }).cache === "reachable") break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(ready).toEqual({ status: "ready", models: { m: "ready" }, cache: "reachable" });
    }

    // A pair scored on A is a hit on B: B scores nothing.
    const first = request(0);
    const onA = await send(a.url, first);
    const onB = await send(b.url, first);
    expect(onA).toEqual({ status: 200, order: await expectedOrder(first) });
    expect(onB).toEqual(onA);
    expect(await metric(a.url, 'winnow_cache_misses_total{model="m"}')).toBe(8);
    expect(await metric(b.url, 'winnow_cache_hits_total{model="m"}')).toBe(8);
    expect(await metric(b.url, 'winnow_pairs_scored_total{model="m"}')).toBe(0);

    // Bounded load through both (8 clients, 160 requests), A SIGKILLed after 40 answers.
    const total = 160;
    const outcomes: Array<{ i: number; via: string; outcome: Outcome; retry?: Outcome }> = [];
    let next = 1;
    let answered = 0;
    let killed = false;
    const client = async () => {
      for (;;) {
        const i = next++;
        if (i > total) return;
        const via = i % 2 === 0 ? a.url : b.url;
        const body = request(i);
        const outcome = await send(via, body);
        const entry: (typeof outcomes)[number] = { i, via, outcome };
        if ("network" in outcome || outcome.status !== 200) entry.retry = await send(b.url, body);
        outcomes.push(entry);
        if (++answered === 40 && !killed) {
          killed = true;
          a.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    expect(await a.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(outcomes).toHaveLength(total);
    const failed = outcomes.filter((o) => !("status" in o.outcome) || o.outcome.status !== 200);
    // Requests sent to A after the kill failed, and only retryably.
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((o) => o.via === a.url && retryable(o.outcome))).toBe(true);
    for (const o of outcomes) {
      const answer = o.retry ?? o.outcome;
      expect(answer).toEqual({ status: 200, order: await expectedOrder(request(o.i)) });
    }
    // The shared documents were scored once for each query: B answered some from A's work.
    expect(await metric(b.url, 'winnow_cache_hits_total{model="m"}')).toBeGreaterThan(8);

    // Every key carries the TTL; after it, Redis holds nothing of ours.
    const probe = new Redis(redis.url);
    try {
      const keys = await probe.keys("replicas:*");
      expect(keys.length).toBeGreaterThan(100);
      const ttls = await Promise.all(keys.map((k) => probe.ttl(k)));
      // -1 would be a key without expiry; -2 one that expired between KEYS and TTL.
      expect(ttls.filter((t) => t === -1)).toEqual([]);
      expect(ttls.every((t) => t === -2 || (t > 0 && t <= TTL_S))).toBe(true);

      // SIGTERM on B: /ready says draining (503) at once while requests are still answered, then it exits 0.
      b.child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 200));
      const draining = await fetch(`${b.url}/ready`);
      expect(draining.status).toBe(503);
      expect(((await draining.json()) as { status: string }).status).toBe("draining");
      expect(await send(b.url, request(1))).toEqual({ status: 200, order: await expectedOrder(request(1)) });
      expect(await b.exited).toEqual({ code: 0, signal: null });

      await new Promise((r) => setTimeout(r, (TTL_S + 1) * 1000));
      expect(await probe.keys("replicas:*")).toEqual([]);
    } finally {
      probe.disconnect();
    }
  }, 90_000);
});

describe("a replica whose Redis is gone", () => {
  it("answers every request without the cache, says so in /ready and winnow_score_cache_up, and warns once", async () => {
    const { startServer } = await import("../../src/server/index.js");
    const gone = await startRedisServer();
    const url = gone.url;
    await gone.stop();
    const warnings: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (String(chunk).includes("redis score cache")) warnings.push(String(chunk));
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    const server = await startServer({ port: 0, logLevel: "silent", cache: { url, timeoutMs: 100 }, models: [{ id: "m", reranker: new LexicalReranker(new LexicalBatchScorer(100_000, 0)) }] });
    try {
      for (let i = 0; i < 3; i++) expect(await send(server.url, request(i))).toEqual({ status: 200, order: await expectedOrder(request(i)) });
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: "ready", cache: "unreachable" });
      expect(await metric(server.url, "winnow_score_cache_up")).toBe(0);
      expect(await metric(server.url, "winnow_score_cache_errors")).toBeGreaterThanOrEqual(3);
      expect(await metric(server.url, 'winnow_cache_misses_total{model="m"}')).toBe(24);
      expect(warnings.filter((w) => w.includes("unavailable"))).toHaveLength(1);
    } finally {
      process.stderr.write = write;
      await server.stop();
    }
  });
});
