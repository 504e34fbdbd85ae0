import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { isWinnowError } from "../../src/core/errors.js";
import type { CandidateInput, QueryInput, RankedResult, Reranker, RerankOptions } from "../../src/core/types.js";
import { createPipeline } from "../../src/pipeline/pipeline.js";
import { searchRoutes } from "../../src/pipeline/search-routes.js";
import { docs, FixedRetriever, ScriptedReranker } from "../support/fake-retrieval.js";

const corpus = docs(10);
const firstStage = () => new FixedRetriever("bm25", corpus.map((doc, i) => ({ doc, score: 10 - i })));

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A Fastify app serving the pipeline on a real port, as `app.listen` does in docs/pipelines.md. */
async function serve(reranker: Reranker): Promise<string> {
  app = Fastify();
  await app.register(searchRoutes(createPipeline({ retrievers: [{ name: "bm25", retriever: firstStage(), k: 10 }], stages: [{ reranker, topK: 10 }], topN: 3 })));
  await app.listen({ port: 0, host: "127.0.0.1" });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

describe("POST /v1/search over real HTTP", () => {
  it("answers a valid request from fetch with the reranked results (not 499 ABORTED)", async () => {
    const base = await serve(new ScriptedReranker("byIndex", (d) => Number(d.id.slice(1))));
    const res = await fetch(`${base}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "statins lower cholesterol", top_n: 3, return_documents: false }),
    });
    const body = (await res.json()) as { results: Array<{ id: string }>; reranked: number };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.results.map((r) => r.id)).toEqual(["d9", "d8", "d7"]);
    expect(body.reranked).toBe(10);

    const badFilter = await fetch(`${base}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "x", filter: { year: { above: 1 } } }),
    });
    expect(badFilter.status).toBe(422);
  });

  it("aborts the search when the client disconnects mid-request", async () => {
    let started!: () => void;
    const rerankStarted = new Promise<void>((r) => (started = r));
    let sawAbort!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((r) => (sawAbort = r));
    // Scores only when told to stop: the search can end only through its signal.
    const waitsForAbort: Reranker = {
      name: "waits",
      rerank(_q: QueryInput, _c: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
        started();
        return new Promise((_, reject) => {
          options.signal?.addEventListener("abort", () => {
            sawAbort(options.signal!.reason);
            reject(options.signal!.reason);
          });
        });
      },
    };
    const base = new URL(await serve(waitsForAbort));
    const body = JSON.stringify({ query: "vitamin D" });
    const req = httpRequest({ host: base.hostname, port: base.port, path: "/v1/search", method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } });
    req.on("error", () => undefined); // the socket we destroy reports ECONNRESET
    req.end(body);
    await rerankStarted;
    req.destroy();
    const guard = new Promise((_, reject) => setTimeout(() => reject(new Error("the pipeline's signal never fired after the client disconnected")), 5000).unref());
    const reason = await Promise.race([aborted, guard]);
    expect(isWinnowError(reason) && reason.code).toBe("ABORTED");
  });
});
