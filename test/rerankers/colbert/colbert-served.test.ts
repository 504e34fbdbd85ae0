import { CohereClientV2 } from "cohere-ai";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { createServer } from "../../../src/server/index.js";

const DOCS = [
  "Fever in children is most often caused by viral infections.",
  "The energy landscape theory explains how proteins fold into native structures.",
  "Vitamin D supplementation improves bone mineral density in older adults.",
  "Unrelated text about aeronautics and boundary layers.",
];

/** A ColBERT model served like a cross-encoder: the Cohere and TEI routes give the library's scores. */
describe("serving a generated ColBERT model", () => {
  let app: FastifyInstance;
  let url: string;
  let modelDir: string;
  beforeAll(async () => {
    modelDir = await ensureGeneratedModel("tiny-colbert");
    app = createServer({ logLevel: "silent", models: [{ id: "late", reranker: { type: "colbert", model: modelDir } }] });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => app?.close());

  it("answers Cohere /v2/rerank and TEI /rerank with the scores of the reranker called directly", async () => {
    const offline = await createReranker({ type: "colbert", model: modelDir });
    try {
      const expected = await offline.rerank("vitamin d and bone density", DOCS, { returnDocuments: false });
      const client = new CohereClientV2({ token: "unused", environment: url });
      const cohere = await client.rerank({ model: "late", query: "vitamin d and bone density", documents: DOCS, topN: 3 });
      expect(cohere.results.map((r) => r.index)).toEqual(expected.slice(0, 3).map((r) => r.index));
      cohere.results.forEach((r, k) => expect(r.relevanceScore).toBeCloseTo(expected[k].score, 4));
      const res = await fetch(`${url}/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "late", query: "vitamin d and bone density", texts: DOCS }) });
      const tei = (await res.json()) as Array<{ index: number; score: number }>;
      expect(res.status, JSON.stringify(tei)).toBe(200);
      expect(tei.map((r) => r.index)).toEqual(expected.map((r) => r.index));
      tei.forEach((r, k) => expect(r.score).toBeCloseTo(expected[k].score, 4));
    } finally {
      await offline.close();
    }
  });
});
