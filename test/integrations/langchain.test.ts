import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseRetriever } from "@langchain/core/retrievers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RankedResult, Reranker } from "../../src/core/types.js";
import { WinnowRerank } from "../../src/integrations/langchain/index.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { expectInformative, expectSameRanking, QUERY, TEXTS } from "./ranking-fixture.js";

/** A first stage that returns the fixture documents in order, with metadata the compressor must keep. */
class FixtureRetriever extends BaseRetriever {
  override lc_namespace = ["winnow", "test"];
  calls = 0;
  override async _getRelevantDocuments(): Promise<DocumentInterface[]> {
    this.calls++;
    return TEXTS.map((text, i) => new Document({ pageContent: text, metadata: { source: `doc-${i}`, position: i }, id: `id-${i}` }));
  }
}

describe("winnow/langchain in a ContextualCompressionRetriever", () => {
  let learned: Reranker;
  let expected: RankedResult[];
  beforeAll(async () => {
    learned = await createReranker({ type: "learned" });
    // Winnow's own ranking of the same documents (ids, no title: what the compressor hands over).
    expected = await learned.rerank(QUERY, TEXTS.map((text, i) => ({ id: `id-${i}`, text, metadata: { source: `doc-${i}`, position: i } })), { returnDocuments: false });
    expectInformative(expected);
  });
  afterAll(async () => learned?.close?.());

  it("invoke() returns the reranked top 3 with metadata kept and metadata.relevanceScore set", async () => {
    const base = new FixtureRetriever();
    const retriever = new ContextualCompressionRetriever({ baseCompressor: new WinnowRerank({ reranker: "learned" }), baseRetriever: base });
    const docs = await retriever.invoke(QUERY);
    expect(base.calls).toBe(1);
    expectSameRanking(docs.map((d) => ({ index: d.metadata.position as number, score: d.metadata.relevanceScore as number })), expected, 3);
    for (const d of docs) {
      expect(d.metadata.source).toBe(`doc-${d.metadata.position}`);
      expect(d.id).toBe(`id-${d.metadata.position}`);
      expect(d.pageContent).toBe(TEXTS[d.metadata.position as number]);
    }
  });

  it("topN and a Reranker instance; the retriever's documents are not modified", async () => {
    const originals = await new FixtureRetriever()._getRelevantDocuments();
    const compressor = new WinnowRerank({ reranker: learned, topN: TEXTS.length });
    const out = await compressor.compressDocuments(originals, QUERY);
    expectSameRanking(out.map((d) => ({ index: d.metadata.position as number, score: d.metadata.relevanceScore as number })), expected);
    expect(originals.every((d) => !("relevanceScore" in d.metadata))).toBe(true);
    expect(await compressor.compressDocuments([], QUERY)).toEqual([]);
  });

  it("rerank() answers like CohereRerank.rerank: { index, relevanceScore }", async () => {
    const compressor = new WinnowRerank({ reranker: { type: "learned" } });
    const plain = await learned.rerank(QUERY, TEXTS, { returnDocuments: false });
    const got = await compressor.rerank(TEXTS, QUERY, { topN: 4 });
    expectSameRanking(got.map((r) => ({ index: r.index, score: r.relevanceScore })), plain, 4);
  });

  it("an instruction the reranker cannot take is refused by name", async () => {
    const compressor = new WinnowRerank({ reranker: "learned", instruction: "prefer reviews" });
    await expect(compressor.compressDocuments(await new FixtureRetriever()._getRelevantDocuments(), QUERY)).rejects.toThrow(/instruction/);
  });
});
