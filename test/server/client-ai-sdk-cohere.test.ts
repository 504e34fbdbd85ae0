import { createCohere } from "@ai-sdk/cohere";
import { rerank } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCS, expectServedRanking, QUERY, startServedFixture, type ServedFixture } from "./client-served-model.js";

/**
 * @ai-sdk/cohere's reranking model (Cohere v2 /v2/rerank) through `rerank()` of package `ai`,
 * with baseURL at a real `winnow serve`'s /v2.
 */
describe("@ai-sdk/cohere through rerank() against winnow serve", () => {
  let f: ServedFixture;
  beforeAll(async () => {
    f = await startServedFixture();
  });
  afterAll(async () => f?.close());

  it("text documents: ranking and reranked documents are Winnow's", async () => {
    const cohere = createCohere({ apiKey: "unused", baseURL: `${f.server.url}/v2` });
    const result = await rerank({ model: cohere.reranking("rerank-v3.5"), query: QUERY, documents: DOCS, maxRetries: 0 });
    expectServedRanking(f.expected, result.ranking.map((r) => ({ index: r.originalIndex, score: r.score })));
    expect(result.rerankedDocuments).toEqual(f.expected.map((r) => DOCS[r.index]));
  });

  it("topN and providerOptions (maxTokensPerDoc, priority) reach the server", async () => {
    const cohere = createCohere({ apiKey: "unused", baseURL: `${f.server.url}/v2` });
    const result = await rerank({
      model: cohere.reranking("rerank-english-v3.0"),
      query: QUERY,
      documents: DOCS,
      topN: 2,
      maxRetries: 0,
      providerOptions: { cohere: { maxTokensPerDoc: 4096, priority: 1 } },
    });
    expectServedRanking(f.expected, result.ranking.map((r) => ({ index: r.originalIndex, score: r.score })), 2);
  });

  it("object documents are sent as JSON strings, as the provider does, and scored on that text", async () => {
    const cohere = createCohere({ apiKey: "unused", baseURL: `${f.server.url}/v2` });
    const documents = DOCS.slice(0, 5).map((text, i) => ({ text, i }));
    const result = await rerank({ model: cohere.reranking("rerank-v3.5"), query: QUERY, documents, maxRetries: 0 });
    const own = await f.direct.rerank(QUERY, documents.map((d) => JSON.stringify(d)), { returnDocuments: false });
    expectServedRanking(own, result.ranking.map((r) => ({ index: r.originalIndex, score: r.score })));
  });
});
