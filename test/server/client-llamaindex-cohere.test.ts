import { CohereRerank } from "@llamaindex/cohere";
import { TextNode, type NodeWithScore } from "@llamaindex/core/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCS, expectServedRanking, QUERY, startServedFixture, type ServedFixture } from "./client-served-model.js";

/**
 * @llamaindex/cohere's CohereRerank (a LlamaIndex node postprocessor on cohere-ai 7.x,
 * Cohere v1 /v1/rerank) with its baseUrl at a real `winnow serve`. It ranks
 * getContent(MetadataMode.ALL), so the nodes carry no metadata here: the ranked texts are DOCS.
 */
describe("@llamaindex/cohere CohereRerank against winnow serve", () => {
  let f: ServedFixture;
  beforeAll(async () => {
    f = await startServedFixture();
  });
  afterAll(async () => f?.close());

  const nodes = (): NodeWithScore[] => DOCS.map((text, i) => ({ node: new TextNode({ id_: `n${i}`, text }), score: 0 }));

  it("postprocessNodes with its default model name (rerank-english-v2.0) returns Winnow's top N", async () => {
    const reranker = new CohereRerank({ apiKey: "unused", baseUrl: f.server.url, topN: 3 });
    const input = nodes();
    const out = await reranker.postprocessNodes(input, QUERY);
    expectServedRanking(f.expected, out.map((n) => ({ index: Number(n.node.id_.slice(1)), score: n.score ?? Number.NaN })), 3);
    expect(out[0].node).toBe(input[f.expected[0].index].node);
  });

  it("every document, under another alias, with the query as message content", async () => {
    const reranker = new CohereRerank({ apiKey: "unused", baseUrl: f.server.url, model: "rerank-v3.5", topN: DOCS.length });
    const out = await reranker.postprocessNodes(nodes(), [{ type: "text", text: QUERY }]);
    expectServedRanking(f.expected, out.map((n) => ({ index: Number(n.node.id_.slice(1)), score: n.score ?? Number.NaN })));
  });
});
