import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRetriever } from "../../../src/retrieval/registry.js";
import { startFakeSearchCluster, type FakeSearchCluster } from "./fake-search-cluster.js";
import { corpus, describeSearchEngine } from "./search-engine-suite.js";

describeSearchEngine("opensearch");

describe("opensearch kNN and hybrid", () => {
  let cluster: FakeSearchCluster;
  beforeAll(async () => {
    cluster = await startFakeSearchCluster("opensearch", corpus);
  });
  afterAll(async () => {
    await cluster?.close();
  });
  const embedder = () => ({ type: "openai", baseUrl: `${cluster.url}/v1`, model: "fake", apiKey: "k", normalize: false });

  it("kNN is a knn query on the vector field, with filters inside it (docs: query-dsl/specialized/k-nn)", async () => {
    const r = await createRetriever({ type: "opensearch", node: cluster.url, index: "docs", mode: "knn", knn: { field: "vector", embedder: embedder() } });
    try {
      const hits = await r.search("aab", 2, { filter: { year: { gte: 2019 } } });
      const body = cluster.requests.at(-1)!.body;
      expect(body.query).toEqual({ knn: { vector: { vector: [2, 1], k: 2, filter: { bool: { filter: [{ range: { year: { gte: 2019 } } }] } } } } });
      // d7 ([4,0], year 2018) is filtered out; d2 [3,0] → 6, d3 [1,2] → 4 ties d1? d1 [1,1] → 3, d5 [2,0] → 4.
      expect(hits.map((h) => [h.document.id, h.score])).toEqual([["d2", 6], ["d3", 4]]);
    } finally {
      await r.close?.();
    }
  });

  it("hybrid is a hybrid query sent with its search pipeline (docs: query-dsl/compound/hybrid)", async () => {
    const r = await createRetriever({ type: "opensearch", node: cluster.url, index: "docs", mode: "hybrid", searchPipeline: "nlp-norm", knn: { field: "vector", embedder: embedder() } });
    try {
      const hits = await r.search("banana", 3);
      const req = cluster.requests.at(-1)!;
      expect(req.query.get("search_pipeline")).toBe("nlp-norm");
      expect(req.body.query.hybrid.queries).toEqual([
        { multi_match: { query: "banana", fields: ["text"], type: "best_fields" } },
        { knn: { vector: { vector: [3, 1], k: 3 } } },
      ]);
      // Min-max then mean: lexical d1 = d3 = 1; kNN [3,1]·v over 3..12: d7 1, d3 2/9, d1 1/9.
      expect(hits.map((h) => [h.document.id, Number(h.score.toFixed(4))])).toEqual([["d3", 0.6111], ["d1", 0.5556], ["d7", 0.5]]);
    } finally {
      await r.close?.();
    }
  });

  it("hybrid without a search pipeline is refused (OpenSearch normalizes only in a pipeline)", async () => {
    await expect(createRetriever({ type: "opensearch", node: cluster.url, index: "docs", mode: "hybrid", knn: { field: "vector", embedder: embedder() } })).rejects.toThrow(/searchPipeline/);
  });
});
