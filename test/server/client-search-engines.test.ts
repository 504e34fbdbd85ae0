import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCS, expectServedRanking, QUERY, startServedFixture, type ServedFixture } from "./client-served-model.js";

/**
 * The exact requests two search engines send to a rerank service, and the parts of the
 * answer they read, against a real `winnow serve` (docs/server.md has the connector configs).
 *
 * OpenSearch ml-commons remote connector for Cohere Rerank
 * (https://docs.opensearch.org/docs/latest/tutorials/reranking/reranking-cohere/):
 * request_body `{ "documents": ${parameters.documents}, "query": "${parameters.query}",
 * "model": "${parameters.model}", "top_n": ${parameters.top_n} }` to /v1/rerank, with
 * `connector.pre_process.cohere.rerank` (top_n = the number of documents) and
 * `connector.post_process.cohere.rerank`, which reads `results[*].index` and
 * `results[*].relevance_score` and hands OpenSearch one score per document, in input order.
 *
 * Elasticsearch `_inference` custom service, task rerank
 * (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-inference-put-custom):
 * service_settings.request `{"query": ${query}, "documents": ${input}, "model": "rerank-v3.5"}` (docs/server.md's config)
 * (${query} and ${input} are substituted JSON-encoded), and response.json_parser
 * `reranked_index: $.results[*].index`, `relevance_score: $.results[*].relevance_score`,
 * `document_text: $.results[*].document.text` (only with return_documents).
 */
const post = (url: string, body: string) => fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer unused" }, body });

/** What `$.results[*].<field>` selects, in order, as Elasticsearch's JSONPath subset reads it. */
const selectAll = (body: { results: Array<Record<string, unknown>> }, path: (r: Record<string, unknown>) => unknown) => body.results.map(path);

describe("search engines' rerank connectors against winnow serve", () => {
  let f: ServedFixture;
  beforeAll(async () => {
    f = await startServedFixture();
  });
  afterAll(async () => f?.close());

  it("OpenSearch ml-commons Cohere connector: the rendered request_body, and one score per document by index", async () => {
    // ml-commons renders the template as text: documents as a JSON array, query inside quotes.
    const rendered = `{ "documents": ${JSON.stringify(DOCS)}, "query": "${QUERY}", "model": "rerank-english-v2.0", "top_n": ${DOCS.length} }`;
    const res = await post(`${f.server.url}/v1/rerank`, rendered);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: Array<{ index: number; relevance_score: number }> };
    expectServedRanking(f.expected, body.results.map((r) => ({ index: r.index, score: r.relevance_score })));
    // connector.post_process.cohere.rerank: scores placed back at each result's index.
    const byInput = new Array<number>(DOCS.length);
    for (const r of body.results) byInput[r.index] = r.relevance_score;
    for (const e of f.expected) expect(Math.abs(byInput[e.index] - e.score)).toBeLessThanOrEqual(1e-6);
  });

  it("Elasticsearch custom rerank service: the rendered request, and what its json_parser paths select", async () => {
    const rendered = `{"query": ${JSON.stringify(QUERY)}, "documents": ${JSON.stringify(DOCS)}, "model": "rerank-v3.5"}`;
    const res = await post(`${f.server.url}/v2/rerank`, rendered);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: Array<Record<string, unknown>> };
    const index = selectAll(body, (r) => r.index) as number[];
    const score = selectAll(body, (r) => r.relevance_score) as number[];
    expect(index).toHaveLength(DOCS.length);
    expectServedRanking(f.expected, index.map((i, k) => ({ index: i, score: score[k] })));

    // With return_documents: document_text at $.results[*].document.text.
    const withText = `{"query": ${JSON.stringify(QUERY)}, "documents": ${JSON.stringify(DOCS)}, "top_n": 2, "return_documents": true, "model": "rerank-v3.5"}`;
    const texts = selectAll((await (await post(`${f.server.url}/v2/rerank`, withText)).json()) as typeof body, (r) => (r.document as { text: string }).text);
    expect(texts).toEqual(f.expected.slice(0, 2).map((e) => DOCS[e.index]));
  });
});
