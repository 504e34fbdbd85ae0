import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/index.js";

/** Any registry family can be served: here the learned ranker (no batch scorer), from a spec, in a worker. */
describe("serving a non-batching registry reranker", () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = createServer({ logLevel: "silent", models: [{ id: "learned", reranker: { type: "learned" } }] });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => app?.close());

  it("reranks through the worker and reports it as unbatched", async () => {
    const docs = ["protein folding energy landscape", "aeronautics boundary layer", "the energy landscape of folding proteins is funnel shaped"];
    const res = await fetch(`${url}/v2/rerank`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "learned", query: "protein folding energy landscape", documents: docs }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: Array<{ index: number; relevance_score: number }> };
    expect(body.results.map((r) => r.index).sort()).toEqual([0, 1, 2]);
    const scores = body.results.map((r) => r.relevance_score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    // The unrelated document ranks last.
    expect(body.results[2].index).toBe(1);
    const model = app.winnow.models.all[0];
    expect(model.inWorker).toBe(true);
    expect(model.batched).toBe(false);
  });
});
