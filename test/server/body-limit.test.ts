import type { FastifyInstance } from "fastify";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/index.js";
import { LexicalReranker } from "./lexical-scorer.js";

const LIMIT = 1 << 20;
/** Well past the limit and past what loopback socket buffers absorb, so the client is still writing when the answer comes. */
const BODY = Buffer.from(JSON.stringify({ query: "q", documents: Array.from({ length: 96 }, () => "x".repeat(100_000)) }));

let app: FastifyInstance;
let port: number;
beforeAll(async () => {
  app = createServer({ logLevel: "silent", limits: { bodyLimitBytes: LIMIT }, models: [{ id: "m", reranker: new LexicalReranker() }] });
  await app.listen({ host: "127.0.0.1", port: 0 });
  await app.winnow.models.loadAll();
  port = (app.server.address() as { port: number }).port;
});
afterAll(async () => app?.close());

interface Exchange {
  /** Everything the server sent. */
  text: string;
  /** A socket error the client saw (EPIPE / ECONNRESET), if any. */
  error: string | undefined;
  socket: Socket;
}

/**
 * Writes a request the way many clients do (Python's requests, Go's net/http): the whole
 * body first, 64 KiB at a time, reading the answer only once it is all sent.
 */
function sendWholeBodyThenRead(path: string, chunked: boolean): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let error: string | undefined;
    socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.pause();
    const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${BODY.length}`}\r\n\r\n`;
    const write = (data: Buffer | string) => new Promise<void>((done) => (socket.destroyed ? done() : socket.write(data, () => done())));
    void (async () => {
      await write(head);
      for (let off = 0; off < BODY.length && !socket.destroyed; off += 65_536) {
        const part = BODY.subarray(off, off + 65_536);
        await write(chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")]) : part);
      }
      if (chunked) await write("0\r\n\r\n");
      socket.on("data", (d: Buffer) => {
        text += d.toString();
        const end = text.indexOf("\r\n\r\n");
        const length = /content-length: (\d+)/i.exec(text)?.[1];
        if (end >= 0 && length && text.length >= end + 4 + Number(length)) resolve({ text, error, socket });
      });
      socket.on("close", () => resolve({ text, error, socket }));
      socket.resume();
    })();
  });
}

describe("a body over the limit", () => {
  for (const path of ["/v2/rerank", "/rerank", "/v1/rerank"]) {
    for (const chunked of [false, true]) {
      it(`${path} (${chunked ? "chunked" : "content-length"}): 413 JSON after the client wrote it all, no reset, connection still usable`, async () => {
        const { text, error, socket } = await sendWholeBodyThenRead(path, chunked);
        expect(error).toBeUndefined();
        expect(text).toMatch(/^HTTP\/1\.1 413 /);
        const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>;
        expect(body.code).toBe("PAYLOAD_TOO_LARGE");
        expect(body.field).toBe("body");
        expect(body.limit).toBe(LIMIT);
        // The rest of the body was read and thrown away: the same connection serves the next request.
        const next = JSON.stringify({ query: "alpha", documents: ["alpha beta", "gamma"] });
        const answer = await new Promise<string>((resolve, reject) => {
          let got = "";
          socket.on("data", (d: Buffer) => {
            got += d.toString();
            if (got.includes("\r\n\r\n")) resolve(got);
          });
          socket.on("close", () => reject(new Error(`connection closed after the 413: ${got}`)));
          socket.write(`POST /v2/rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(next)}\r\n\r\n${next}`);
        });
        expect(answer).toMatch(/^HTTP\/1\.1 200 /);
        socket.destroy();
      });
    }
  }

  it("fetch gets the 413 for a 17 MB body under the default 16 MiB limit", async () => {
    const big = createServer({ logLevel: "silent", models: [{ id: "m", reranker: new LexicalReranker() }] });
    await big.listen({ host: "127.0.0.1", port: 0 });
    try {
      await big.winnow.models.loadAll();
      const url = `http://127.0.0.1:${(big.server.address() as { port: number }).port}`;
      const body = JSON.stringify({ query: "q", documents: Array.from({ length: 170 }, () => "y".repeat(100_000)) });
      for (const path of ["/v2/rerank", "/rerank"]) {
        const res = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
        expect(res.status).toBe(413);
        await res.arrayBuffer();
      }
    } finally {
      await big.close();
    }
  });
});
