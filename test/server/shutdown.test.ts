import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createServer } from "../../src/server/index.js";
import { LexicalBatchScorer, LexicalReranker } from "./lexical-scorer.js";

const here = dirname(fileURLToPath(import.meta.url));

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
    const child = spawn(process.execPath, ["--import", "tsx", join(here, "fixtures/serve-lexical.ts")], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        const line = out.split("\n").find((l) => l.startsWith("http"));
        if (line) resolve(line.trim());
      });
      child.on("exit", () => reject(new Error(`server exited early: ${out}`)));
    });
    const inFlight = Array.from({ length: 6 }, (_, i) => rerank(url, 12, `s${i}`));
    // 72 units at 4 per 25 ms pass take ~450 ms; signal while they are being scored.
    await new Promise((r) => setTimeout(r, 150));
    const signalledAt = performance.now();
    child.kill("SIGTERM");
    const responses = await Promise.all(inFlight);
    expect(responses.map((r) => r.status)).toEqual(new Array(6).fill(200));
    expect(await exited).toBe(0);
    // It exited when the work was done, not at the 10 s shutdown deadline.
    expect(performance.now() - signalledAt).toBeLessThan(5_000);
  }, 30_000);
});
