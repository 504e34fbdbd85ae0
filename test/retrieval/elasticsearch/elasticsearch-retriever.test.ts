import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRetriever } from "../../../src/retrieval/registry.js";
import { startFakeSearchCluster, type FakeSearchCluster } from "../opensearch/fake-search-cluster.js";
import { corpus, describeSearchEngine } from "../opensearch/search-engine-suite.js";

describeSearchEngine("elasticsearch");

describe("elasticsearch kNN and hybrid (docs: reference/8.19/knn-search.html)", () => {
  let cluster: FakeSearchCluster;
  beforeAll(async () => {
    cluster = await startFakeSearchCluster("elasticsearch", corpus);
  });
  afterAll(async () => {
    await cluster?.close();
  });
  const embedder = () => ({ type: "openai", baseUrl: `${cluster.url}/v1`, model: "fake", apiKey: "k", normalize: false });

  it("kNN is the top-level knn section with num_candidates and the filters", async () => {
    const r = await createRetriever({ type: "elasticsearch", node: cluster.url, index: "docs", mode: "knn", knn: { field: "vector", embedder: embedder() } });
    try {
      const hits = await r.search("aab", 2, { filter: { year: { gte: 2019 } } });
      const body = cluster.requests.at(-1)!.body;
      expect(body.query).toBeUndefined();
      expect(body.knn).toEqual({ field: "vector", query_vector: [2, 1], k: 2, num_candidates: 100, filter: [{ range: { year: { gte: 2019 } } }] });
      expect(hits.map((h) => [h.document.id, h.score])).toEqual([["d2", 6], ["d3", 4]]);
    } finally {
      await r.close?.();
    }
  });

  it("hybrid sends query and knn together with their boosts; the engine sums the scores", async () => {
    const r = await createRetriever({ type: "elasticsearch", node: cluster.url, index: "docs", mode: "hybrid", lexicalBoost: 10, knnBoost: 0.5, knn: { field: "vector", embedder: embedder() } });
    try {
      const hits = await r.search("banana", 3);
      const body = cluster.requests.at(-1)!.body;
      expect(body.query).toEqual({ bool: { must: [{ multi_match: { query: "banana", fields: ["text"], type: "best_fields" } }], boost: 10 } });
      expect(body.knn).toMatchObject({ field: "vector", query_vector: [3, 1], k: 3, boost: 0.5 });
      // d1: 10 + 0.5*4 = 12, d3: 10 + 0.5*5 = 12.5, d7: 0.5*12 = 6.
      expect(hits.map((h) => [h.document.id, h.score])).toEqual([["d3", 12.5], ["d1", 12], ["d7", 6]]);
    } finally {
      await r.close?.();
    }
  });
});
