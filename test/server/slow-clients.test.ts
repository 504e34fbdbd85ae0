import type { FastifyInstance } from "fastify";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveConfigFromFlags } from "../../src/cli/commands/serve.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { createServer } from "../../src/server/index.js";
import { LexicalReranker } from "./lexical-scorer.js";

const HEADERS_MS = 300;
const BODY_MS = 400;

let app: FastifyInstance;
let port: number;
beforeAll(async () => {
  app = createServer({ logLevel: "silent", limits: { headersTimeoutMs: HEADERS_MS, bodyTimeoutMs: BODY_MS }, models: [{ id: "m", reranker: new LexicalReranker() }] });
  await app.listen({ host: "127.0.0.1", port: 0 });
  await app.winnow.models.loadAll();
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => app?.close());

/** Sends `head` at once, then one byte of `drip` every 100 ms until the server closes the connection; resolves with what it answered. */
function dribble(head: string, drip: string, giveUpMs = 10_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let i = 0;
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip[i++ % drip.length]);
    }, 100);
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      resolve({ text, closed: false });
    }, giveUpMs);
    socket.on("error", () => undefined);
    socket.on("data", (d: Buffer) => (text += d.toString()));
    socket.on("close", () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ text, closed: true });
    });
    socket.write(head);
  });
}

const bodyOf = (text: string) => JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>;

describe("slow clients", () => {
  it("headers sent a byte at a time: 408 naming limits.headersTimeoutMs, connection closed", async () => {
    const { text, closed } = await dribble("POST /v1/rerank HTTP/1.1\r\nHost: x\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(text)).toMatchObject({ code: "TIMEOUT", field: "limits.headersTimeoutMs", limit: HEADERS_MS });
  });

  it("a body sent a byte at a time: 408 naming limits.bodyTimeoutMs, connection closed", async () => {
    const { text, closed } = await dribble(
      'POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"query":"',
      "a",
    );
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(text)).toMatchObject({ code: "TIMEOUT", field: "limits.bodyTimeoutMs", limit: BODY_MS });
  });

  it("a slow keep-alive client's second request is timed from its own first byte", async () => {
    const ok = JSON.stringify({ query: "alpha", documents: ["alpha", "beta"] });
    const { text, closed } = await dribble(
      `POST /v1/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${ok.length}\r\n\r\n${ok}POST /v1/rerank HTTP/1.1\r\nHost: x\r\n`,
      "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n",
    );
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const second = text.slice(text.indexOf("HTTP/1.1", 1));
    expect(second).toMatch(/^HTTP\/1\.1 408 /);
    expect(bodyOf(second)).toMatchObject({ field: "limits.headersTimeoutMs" });
  });

  it("clients that send in time are served, and the defaults are set", async () => {
    const url = `http://127.0.0.1:${port}`;
    const res = await fetch(`${url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "alpha", documents: ["alpha", "beta"] }) });
    expect(res.status).toBe(200);
    const defaults = resolveServerConfig({ models: [{ id: "m", reranker: new LexicalReranker() }] }).limits;
    expect(defaults.headersTimeoutMs).toBe(10_000);
    expect(defaults.bodyTimeoutMs).toBe(30_000);
  });

  it("`winnow serve --headers-timeout/--body-timeout` set the limits, and bad values name the flag", () => {
    const config = serveConfigFromFlags({ model: "./m", headersTimeout: "2000", bodyTimeout: "5000", docs: true });
    expect(config.limits).toMatchObject({ headersTimeoutMs: 2000, bodyTimeoutMs: 5000 });
    expect(() => serveConfigFromFlags({ model: "./m", headersTimeout: "0", docs: true })).toThrow(/--headers-timeout/);
    expect(() => resolveServerConfig({ limits: { bodyTimeoutMs: 0 }, models: [{ id: "m", reranker: new LexicalReranker() }] })).toThrow(/limits\.bodyTimeoutMs/);
  });
});
