import { NoSuchModelError } from "@ai-sdk/provider";
import { rerank } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RankedResult, Reranker } from "../../src/core/types.js";
import { createWinnow, winnow, WinnowRerankingModel } from "../../src/integrations/ai-sdk/index.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { expectInformative, expectSameRanking, QUERY, TEXTS } from "./ranking-fixture.js";

/** Through the AI SDK's own `rerank()` (package `ai`), with Winnow models in process. */
describe("winnow/ai-sdk through rerank() of package ai", () => {
  let learned: Reranker;
  let expected: RankedResult[];
  beforeAll(async () => {
    learned = await createReranker({ type: "learned" });
    expected = await learned.rerank(QUERY, TEXTS, { returnDocuments: false });
    expectInformative(expected);
  });
  afterAll(async () => learned?.close?.());

  it("text documents: ranking, reranked documents and scores match Winnow's rerank()", async () => {
    const model = winnow.reranking("learned");
    expect(model.specificationVersion).toBe("v3");
    expect(model.provider).toBe("winnow");
    expect(model.modelId).toBe("learned");
    const result = await rerank({ model, query: QUERY, documents: TEXTS });
    expectSameRanking(result.ranking.map((r) => ({ index: r.originalIndex, score: r.score })), expected);
    expect(result.rerankedDocuments).toEqual(expected.map((r) => TEXTS[r.index]));
    expect(result.response.modelId).toBe("learned");
  });

  it("topN keeps the best N", async () => {
    const result = await rerank({ model: winnow("learned"), query: QUERY, documents: TEXTS, topN: 2 });
    expectSameRanking(result.ranking.map((r) => ({ index: r.originalIndex, score: r.score })), expected, 2);
  });

  it("object documents are ranked on their text field and come back whole", async () => {
    const documents = TEXTS.map((text, i) => ({ text, source: `s${i}`, year: 2000 + i }));
    const result = await rerank({ model: winnow.rerankingModel({ type: "learned" }), query: QUERY, documents });
    const own = await learned.rerank(QUERY, documents.map((d, i) => ({ id: String(i), text: d.text, fields: { source: d.source }, metadata: { year: d.year } })), { returnDocuments: false });
    expectSameRanking(result.ranking.map((r) => ({ index: r.originalIndex, score: r.score })), own);
    expect(result.ranking[0].document).toEqual(documents[own[0].index]);
  });

  it("a Reranker instance and a cross-encoder spec work as models", async () => {
    const viaInstance = await rerank({ model: new WinnowRerankingModel(learned), query: QUERY, documents: TEXTS });
    expectSameRanking(viaInstance.ranking.map((r) => ({ index: r.originalIndex, score: r.score })), expected);

    const modelDir = await ensureGeneratedModel("tiny-bert");
    const ce = await createReranker({ type: "cross-encoder", model: modelDir });
    const ceExpected = await ce.rerank(QUERY, TEXTS, { returnDocuments: false });
    await ce.close?.();
    const model = createWinnow().reranking({ type: "cross-encoder", model: modelDir });
    expect(model.modelId).toBe(modelDir);
    const result = await rerank({ model, query: QUERY, documents: TEXTS, topN: 4 });
    expectSameRanking(result.ranking.map((r) => ({ index: r.originalIndex, score: r.score })), ceExpected, 4);
    await model.close();
  });

  it("an instruction a reranker cannot take is refused, not dropped", async () => {
    const err = await rerank({ model: winnow.reranking("learned"), query: QUERY, documents: TEXTS, maxRetries: 0, providerOptions: { winnow: { instruction: "prefer reviews" } } }).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/instruction/);
  });

  it("an unknown reranker type fails with the known types named; the provider has no language models", async () => {
    const err = await rerank({ model: winnow.reranking("no-such-family"), query: QUERY, documents: TEXTS, maxRetries: 0 }).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/unknown reranker type "no-such-family".*learned/);
    expect(() => winnow.languageModel("gpt")).toThrow(NoSuchModelError);
  });
});
