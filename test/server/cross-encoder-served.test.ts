import { CohereClientV2 } from "cohere-ai";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { createServer } from "../../src/server/index.js";

const QUERIES = ["what causes fever in children", "protein folding energy landscape", "vitamin d and bone density"];
const DOCS = [
  "Fever in children is most often caused by viral infections.",
  "The energy landscape theory explains how proteins fold into native structures.",
  "Vitamin D supplementation improves bone mineral density in older adults.",
  "A long abstract ".repeat(400) + "that mentions fever only at the very end.",
  "Unrelated text about aeronautics and boundary layers.",
];

describe("serving a generated cross-encoder", () => {
  let app: FastifyInstance;
  let url: string;
  let modelDir: string;
  beforeAll(async () => {
    modelDir = await ensureGeneratedModel("tiny-bert");
    app = createServer({ logLevel: "silent", models: [{ id: "tiny", reranker: { type: "cross-encoder", model: modelDir } }], batching: { maxBatchPairs: 4, maxBatchTokens: 100_000 } });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => app?.close());

  it("gives concurrent, cross-batched requests the same scores as calling the reranker directly", async () => {
    const offline = await createReranker({ type: "cross-encoder", model: modelDir });
    const client = new CohereClientV2({ token: "unused", environment: url });
    // Concurrent requests share forward passes of 4 pairs: a request whose last pass is not
    // full is topped up with the next request's pairs, mixing queries in one batch.
    const served = await Promise.all(QUERIES.map((q) => client.rerank({ model: "tiny", query: q, documents: DOCS })));
    expect(app.winnow.models.all[0].batched).toBe(true);
    // A spec-built model runs in its own worker thread, off the HTTP event loop.
    expect(app.winnow.models.all[0].inWorker).toBe(true);
    for (const [i, q] of QUERIES.entries()) {
      const expected = await offline.rerank(q, DOCS, { returnDocuments: false });
      const got = served[i].results;
      expect(got.map((r) => r.index)).toEqual(expected.map((r) => r.index));
      got.forEach((r, k) => expect(r.relevanceScore).toBeCloseTo(expected[k].score, 5));
    }
    await offline.close?.();
    const metrics = await (await fetch(`${url}/metrics`)).text();
    // The long document was windowed: more pairs scored than documents sent.
    const pairs = Number(/winnow_pairs_scored_total\{model="tiny"\} (\d+)/.exec(metrics)?.[1]);
    expect(pairs).toBeGreaterThan(QUERIES.length * DOCS.length);
    // And requests really shared passes: some batch carried more than one request.
    const single = Number(/winnow_batch_requests_bucket\{le="1",model="tiny"\} (\d+)/.exec(metrics)?.[1]);
    const batches = Number(/winnow_batch_requests_count\{model="tiny"\} (\d+)/.exec(metrics)?.[1]);
    expect(batches).toBeGreaterThan(single);
  });

  it("TEI's truncation_direction: Left keeps the end of a long text, Right (the default) its start", async () => {
    // Each far longer than the model's window and than its 4 windows; t0 and t1 share their
    // end, t0 and t2 their start.
    const filler = "alpha beta ".repeat(1_000);
    const [s1, s2] = ["vitamin d supplementation improves bone density", "protein folding energy landscape"];
    const [e1, e2] = ["fever in children is most often caused by viral infections", "boundary layers in aeronautics"];
    const texts = [`${s1} ${filler}${e1}`, `${s2} ${filler}${e1}`, `${s1} ${filler}${e2}`];
    const raw = async (body: Record<string, unknown>) => {
      const res = await fetch(`${url}/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "fever", texts, raw_scores: true, ...body }) });
      expect(res.status).toBe(200);
      const ranked = (await res.json()) as Array<{ index: number; score: number }>;
      return texts.map((_, i) => ranked.find((r) => r.index === i)!.score);
    };
    const differ = (a: number, b: number) => expect(Math.abs(a - b)).toBeGreaterThan(1e-3);
    for (const truncate of [true, false]) {
      // Windowed (truncate: false), the 4 windows kept are the last 4 or the first 4.
      const left = await raw({ truncate, truncation_direction: "Left" });
      expect(left[1]).toBeCloseTo(left[0], 4);
      differ(left[2], left[0]);
      const right = await raw({ truncate });
      expect(right[2]).toBeCloseTo(right[0], 4);
      differ(right[1], right[0]);
      expect(await raw({ truncate, truncation_direction: "Right" })).toEqual(right);
    }
  });
});
