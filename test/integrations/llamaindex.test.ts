import { MockLLM } from "@llamaindex/core/llms/mock";
import { RetrieverQueryEngine } from "@llamaindex/core/query-engine";
import { getResponseSynthesizer } from "@llamaindex/core/response-synthesizers";
import { BaseRetriever } from "@llamaindex/core/retriever";
import { MetadataMode, TextNode, type NodeWithScore } from "@llamaindex/core/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RankedResult, Reranker } from "../../src/core/types.js";
import { WinnowNodePostprocessor } from "../../src/integrations/llamaindex/index.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { expectInformative, expectSameRanking, QUERY, TEXTS } from "./ranking-fixture.js";

const nodes = (): NodeWithScore[] => TEXTS.map((text, i) => ({ node: new TextNode({ id_: `n${i}`, text, metadata: { position: i } }), score: 1 - i / 10 }));
const position = (n: NodeWithScore) => n.node.metadata.position as number;

/** A first stage handing the fixture nodes over in order. */
class FixtureRetriever extends BaseRetriever {
  constructor() {
    super();
  }
  override async _retrieve(): Promise<NodeWithScore[]> {
    return nodes();
  }
}

describe("winnow/llamaindex as a node postprocessor", () => {
  let learned: Reranker;
  let expected: RankedResult[];
  beforeAll(async () => {
    learned = await createReranker({ type: "learned" });
    expected = await learned.rerank(QUERY, TEXTS.map((text, i) => ({ id: `n${i}`, text, metadata: { position: i } })), { returnDocuments: false });
    expectInformative(expected);
  });
  afterAll(async () => learned?.close?.());

  it("postprocessNodes returns NodeWithScore best first with Winnow's scores", async () => {
    const post = new WinnowNodePostprocessor({ reranker: "learned" });
    const input = nodes();
    const out = await post.postprocessNodes(input, QUERY);
    expectSameRanking(out.map((n) => ({ index: position(n), score: n.score ?? Number.NaN })), expected);
    expect(out[0].node).toBe(input[expected[0].index].node);
    expect(await post.postprocessNodes([], QUERY)).toEqual([]);
    await expect(post.postprocessNodes(input)).rejects.toThrow(/query/);
  });

  it("in a RetrieverQueryEngine's nodePostprocessors: sourceNodes are the reranked top N", async () => {
    const synthesizer = getResponseSynthesizer("compact", { llm: new MockLLM({ responseMessage: "ok" }) });
    const engine = new RetrieverQueryEngine(new FixtureRetriever(), synthesizer, [new WinnowNodePostprocessor({ reranker: learned, topN: 3 })]);
    const response = await engine.query({ query: QUERY });
    const sources = response.sourceNodes ?? [];
    expectSameRanking(sources.map((n) => ({ index: position(n), score: n.score ?? Number.NaN })), expected, 3);
  });

  it("metadataMode ALL ranks the text with its metadata, as @llamaindex/cohere does", async () => {
    const input = nodes();
    const out = await new WinnowNodePostprocessor({ reranker: { type: "learned" }, metadataMode: MetadataMode.ALL, topN: 2 }).postprocessNodes(input, QUERY);
    const own = await learned.rerank(QUERY, input.map((n) => ({ id: n.node.id_, text: n.node.getContent(MetadataMode.ALL), metadata: { ...n.node.metadata } })), { returnDocuments: false });
    expectSameRanking(out.map((n) => ({ index: position(n), score: n.score ?? Number.NaN })), own, 2);
  });
});
