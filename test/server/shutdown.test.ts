import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createServer, SHUTDOWN_DEADLINE_EXIT_CODE, type ServerConfigInput } from "../../src/server/index.js";
import { LexicalBatchScorer, LexicalReranker } from "./lexical-scorer.js";

const here = dirname(fileURLToPath(import.meta.url));

interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** A fixture server in a child process; resolves once it prints its URL. */
async function spawnServer(fixture: string, env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures", fixture)], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let err = "";
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const line = out.split("\n").find((l) => l.startsWith("http"));
      if (line) resolve(line.trim());
    });
    child.on("exit", () => reject(new Error(`server exited early: ${out} ${err}`)));
  });
  return { child, url, exited, stderr: () => err };
}

/** A raw connection that sends `head`, then a byte of `drip` every 100 ms; `closed` resolves when the server ends it. */
function slowClient(url: string, head: string, drip: string): { closed: Promise<string> } {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  let text = "";
  let i = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write(drip[i++ % drip.length]);
  }, 100);
  socket.on("error", () => undefined);
  socket.on("data", (d: Buffer) => (text += d.toString()));
  socket.write(head);
  return {
    closed: new Promise((resolve) =>
      socket.on("close", () => {
        clearInterval(timer);
        resolve(text);
      }),
    ),
  };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

const rerank = (url: string, n: number, tag: string) =>
  fetch(`${url}/v1/rerank`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `${tag} words`, documents: Array.from({ length: n }, (_, i) => `${tag} ${i}`) }),
  });

describe("graceful shutdown", () => {
  it("close() while busy finishes every accepted request", async () => {
    const app = createServer({ logLevel: "silent", batching: { maxBatchPairs: 4 }, models: [{ id: "m", reranker: new LexicalReranker(new LexicalBatchScorer(100_000, 15)) }] });
    let received = 0;
    app.addHook("onRequest", async () => {
      received++;
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const inFlight = Array.from({ length: 8 }, (_, i) => rerank(url, 10, `r${i}`));
    const model = app.winnow.models.all[0];
    // Accepted = the server has read the request; then make sure work is still queued.
    while (received < 8) await new Promise((r) => setTimeout(r, 2));
    expect(model.queuedPairs).toBeGreaterThan(0);
    await app.close();
    const responses = await Promise.all(inFlight);
    expect(responses.map((r) => r.status)).toEqual(new Array(8).fill(200));
    for (const r of responses) expect(((await r.json()) as { results: unknown[] }).results).toHaveLength(10);
    // Closed means closed: new connections are refused.
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it("SIGTERM stops accepting, answers what it accepted, and exits 0", async () => {
    const { child, url, exited } = await spawnServer("serve-lexical.ts");
    const inFlight = Array.from({ length: 6 }, (_, i) => rerank(url, 12, `s${i}`));
    // 72 units at 4 per 25 ms pass take ~450 ms; signal once all six are received (the
    // seventh in flight is the /metrics request itself), while they are being scored.
    while ((await metric(url, "winnow_http_requests_in_flight")) < 7) await new Promise((r) => setTimeout(r, 5));
    const signalledAt = performance.now();
    child.kill("SIGTERM");
    const responses = await Promise.all(inFlight);
    expect(responses.map((r) => r.status)).toEqual(new Array(6).fill(200));
    expect(await exited).toEqual({ code: 0, signal: null });
    // It exited when the work was done, not at the 10 s shutdown deadline.
    expect(performance.now() - signalledAt).toBeLessThan(5_000);
  }, 30_000);

  it("past shutdownTimeoutMs with ONNX Runtime mid-pass in the model worker: answers 503, stops the worker, exits 3, never aborts", async () => {
    // MiniLM-L6 passes of 8 pairs × ~250 tokens take long enough that the deadline lands
    // inside one. Exiting (or terminating the worker) there used to abort the process:
    // "terminate called after throwing an instance of 'Napi::Error'", SIGABRT.
    const model = await ensureGeneratedModel("minilm-l6");
    const config: ServerConfigInput = {
      port: 0,
      logLevel: "silent",
      shutdownTimeoutMs: 100,
      batching: { maxBatchPairs: 8, maxBatchTokens: 100_000 },
      models: [{ id: "m", reranker: { type: "cross-encoder", model } }],
    };
    const server = await spawnServer("serve-config.ts", { WINNOW_TEST_SERVER_CONFIG: JSON.stringify(config) });
    const docs = Array.from({ length: 8 }, (_, i) => `passage ${i} about protein folding and the energy landscape of small molecules `.repeat(14));
    const inFlight = Array.from({ length: 4 }, (_, i) =>
      fetch(`${server.url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: `query ${i}`, documents: docs }) }),
    );
    // Signal once a pass has been taken from the queue (32 pairs queued, fewer waiting).
    for (;;) {
      const waiting = await metric(server.url, "winnow_queue_depth_pairs");
      if (waiting > 0 && waiting < 32) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    server.child.kill("SIGTERM");
    const responses = await Promise.all(inFlight);
    const statuses = responses.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses).toContain(503);
    const refused = responses.find((r) => r.status === 503)!;
    expect((await refused.json()) as Record<string, unknown>).toMatchObject({ code: "UNAVAILABLE", field: "shutdownTimeoutMs", limit: 100 });
    expect(await server.exited).toEqual({ code: SHUTDOWN_DEADLINE_EXIT_CODE, signal: null });
    expect(server.stderr()).not.toMatch(/terminate called|Napi::Error/);
  }, 120_000);

  it("SIGTERM does not wait for a client still sending its headers", async () => {
    const server = await spawnServer("serve-lexical.ts");
    const slow = slowClient(server.url, "POST /v1/rerank HTTP/1.1\r\nHost: x\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    await new Promise((r) => setTimeout(r, 300));
    const signalledAt = performance.now();
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: 0, signal: null });
    // Well before the fixture's 10 s shutdown deadline (and its 10 s headers timeout).
    expect(performance.now() - signalledAt).toBeLessThan(5_000);
    expect(await slow.closed).toMatch(/^HTTP\/1\.1 408 [^]*shutting down/);
  }, 30_000);

  it("past the deadline, a client still sending its body is cut off and the server exits 3", async () => {
    const model = await ensureGeneratedModel("tiny-bert");
    const config: ServerConfigInput = { port: 0, logLevel: "silent", shutdownTimeoutMs: 300, models: [{ id: "m", reranker: { type: "cross-encoder", model } }] };
    const server = await spawnServer("serve-config.ts", { WINNOW_TEST_SERVER_CONFIG: JSON.stringify(config) });
    const slow = slowClient(server.url, 'POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"query":"', "a");
    await new Promise((r) => setTimeout(r, 300));
    const signalledAt = performance.now();
    server.child.kill("SIGTERM");
    expect(await server.exited).toEqual({ code: SHUTDOWN_DEADLINE_EXIT_CODE, signal: null });
    await slow.closed;
    // At the 300 ms deadline (plus the 1 s given to answers in flight), not the 30 s body timeout.
    expect(performance.now() - signalledAt).toBeLessThan(10_000);
  }, 30_000);
});
