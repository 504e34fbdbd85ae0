import type { FastifyInstance } from "fastify";
import { Agent, request as httpRequest } from "node:http";
import { connect, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionGuard } from "../../src/server/connection-guard.js";
import { createServer, type ServerConfigInput } from "../../src/server/index.js";
import { LexicalBatchScorer, LexicalReranker, SlowPlainReranker } from "./lexical-scorer.js";

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function listen(config: ServerConfigInput): Promise<string> {
  app = createServer({ logLevel: "silent", ...config });
  await app.listen({ host: "127.0.0.1", port: 0 });
  await app.winnow.models.loadAll();
  return `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
}

const rerank = (url: string, n: number, signal?: AbortSignal, word = "doc") =>
  fetch(`${url}/v1/rerank`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: `${word} query`, documents: Array.from({ length: n }, (_, i) => `${word} number ${i}`) }),
    signal,
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms = 2_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await sleep(5);
  }
}

describe("load control", () => {
  it("answers 504 past the request deadline and frees its queued work, while others are served", async () => {
    const scorer = new LexicalBatchScorer(100_000, 40);
    const url = await listen({ models: [{ id: "m", reranker: new LexicalReranker(scorer) }], limits: { requestTimeoutMs: 150 }, batching: { maxBatchPairs: 4 } });
    const [slow, small] = await Promise.all([rerank(url, 60), (async () => (await sleep(5), rerank(url, 2)))()]);
    expect(slow.status).toBe(504);
    const err = (await slow.json()) as { message: string; limit: number };
    expect(err.message).toContain("150 ms");
    expect(err.limit).toBe(150);
    expect(small.status).toBe(200);
    expect(app!.winnow.models.all[0].queuedPairs).toBe(0);
    // 60 units at 4 per 40 ms pass would need 15 passes; the deadline stopped it early.
    await sleep(100);
    expect(scorer.batches.length).toBeLessThan(10);
  });

  it("answers 429 with Retry-After when the queue is full, never hanging", async () => {
    const scorer = new LexicalBatchScorer(100_000, 30);
    const url = await listen({ models: [{ id: "m", reranker: new LexicalReranker(scorer) }], limits: { maxQueuedPairs: 20 }, batching: { maxBatchPairs: 4 } });
    const responses = await Promise.all(Array.from({ length: 10 }, () => rerank(url, 8)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { code: string }).code).toBe("QUEUE_FULL");
  });

  it("refuses a rerank with 429 before reading its body while a typical request would not fit", async () => {
    const scorer = new LexicalBatchScorer(100_000, 200);
    const url = await listen({ models: [{ id: "m", reranker: new LexicalReranker(scorer) }], limits: { maxQueuedPairs: 10 }, batching: { maxBatchPairs: 4 } });
    const model = app!.winnow.models.all[0];
    // 8 units: 4 go into the first (slow) pass, 4 wait. Six of 10 pairs are free, but the
    // requests seen so far had 8 documents: a typical one would not fit.
    const filling = [rerank(url, 8)];
    await waitFor(() => model.queuedPairs === 4);
    // Headers promise a 5 MB body that never comes: only a refusal before the body is read can answer.
    const { port } = new URL(url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write("POST /v2/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{\"query\":");
      });
      let text = "";
      socket.on("data", (d) => {
        text += d.toString();
        if (text.includes("\r\n\r\n")) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
      setTimeout(() => reject(new Error("no answer before the body was sent")), 2_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 429/);
    expect(answer.toLowerCase()).toContain("retry-after: 1");
    await Promise.all(filling);
  });

  it("drops a request's queued units when its client disconnects", async () => {
    const scorer = new LexicalBatchScorer(100_000, 20);
    const url = await listen({ models: [{ id: "m", reranker: new LexicalReranker(scorer) }], batching: { maxBatchPairs: 4 } });
    const controller = new AbortController();
    const pending = rerank(url, 400, controller.signal, "gone").catch((e: unknown) => e);
    const model = app!.winnow.models.all[0];
    await waitFor(() => model.queuedPairs > 0);
    expect(await model.heldUnits()).toBeGreaterThan(0);
    controller.abort();
    await pending;
    await waitFor(() => model.queuedPairs === 0);
    // Its tokenized units are freed, not kept for a request nobody waits for.
    expect(await model.heldUnits()).toBe(0);
    const scoredBefore = scorer.batches.length;
    await sleep(100);
    // At most the pass that was running when the client left.
    expect(scorer.batches.length - scoredBefore).toBeLessThanOrEqual(1);
    expect(scorer.batches.length).toBeLessThan(20);
    // The server keeps serving.
    expect((await rerank(url, 3)).status).toBe(200);
  });

  it("keeps /health fast while the model is saturated", async () => {
    const scorer = new LexicalBatchScorer(100_000, 8);
    const url = await listen({ models: [{ id: "m", reranker: new LexicalReranker(scorer) }], batching: { maxBatchPairs: 32 }, limits: { maxQueuedPairs: 10_000 } });
    const load = Array.from({ length: 16 }, (_, i) => rerank(url, 300, undefined, `load${i}`));
    const model = app!.winnow.models.all[0];
    await waitFor(() => model.queuedPairs > 1_000);
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}/health`);
      latencies.push(performance.now() - t0);
      expect(res.status).toBe(200);
      await sleep(10);
    }
    // Still saturated at the end of probing, so every probe competed with the load.
    expect(model.queuedPairs).toBeGreaterThan(0);
    // Generous bound: the point is "not stuck behind the queue" (which would be seconds).
    expect(Math.max(...latencies)).toBeLessThan(250);
    const statuses = (await Promise.all(load)).map((r) => r.status);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it("limits concurrent calls to a reranker that cannot batch", async () => {
    const plain = new SlowPlainReranker(30);
    const url = await listen({ models: [{ id: "p", reranker: plain }], limits: { maxConcurrentRequests: 2 } });
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => rerank(url, 5)))).map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(plain.maxInFlight).toBe(2);
  });

  it("paces 429s on a connection that re-sends before its Retry-After: one a second, not a flood", async () => {
    const scorer = new LexicalBatchScorer(100_000, 500);
    const url = await listen({ models: [{ id: "m", reranker: new LexicalReranker(scorer) }], limits: { maxQueuedPairs: 10 }, batching: { maxBatchPairs: 4 } });
    const model = app!.winnow.models.all[0];
    // 8 units at 4 per 500 ms pass: the queue stays full for about a second.
    const filling = rerank(url, 8);
    await waitFor(() => model.queuedPairs === 4);
    // One keep-alive connection that ignores Retry-After and re-sends at once, for 600 ms.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = JSON.stringify({ query: "q", documents: Array.from({ length: 8 }, (_, i) => `doc ${i}`) });
    const send = () =>
      new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
        const req = httpRequest(`${url}/v1/rerank`, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined }));
        });
        req.on("error", reject);
        req.end(body);
      });
    const until = performance.now() + 600;
    const answers: Array<{ status: number; retryAfter: string | undefined }> = [];
    const flood = (async () => {
      while (performance.now() < until) answers.push(await send());
    })();
    await sleep(600);
    const inWindow = answers.length;
    await flood;
    agent.destroy();
    // The first 429 at once; the next one only a Retry-After (1 s) later.
    expect(inWindow).toBeLessThanOrEqual(1);
    expect(answers[0]).toEqual({ status: 429, retryAfter: "1" });
    await filling;
  });

  it("holds a 429 only for a connection back before its Retry-After", () => {
    const guard = new ConnectionGuard({ headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000, drainLimitBytes: 1 << 20 });
    const a = new Socket();
    const b = new Socket();
    expect(guard.refusalDelay(a, 10_000)).toBe(0);
    expect(guard.refusalDelay(a, 10_100)).toBe(900);
    // Queued behind the held one, not alongside it.
    expect(guard.refusalDelay(a, 10_200)).toBe(1_800);
    // Another connection is not held for this one.
    expect(guard.refusalDelay(b, 10_200)).toBe(0);
    // Back after its Retry-After: answered at once.
    expect(guard.refusalDelay(b, 11_300)).toBe(0);
    // Admitted in between: starts afresh.
    guard.admitted(a);
    expect(guard.refusalDelay(a, 10_300)).toBe(0);
  });
});
