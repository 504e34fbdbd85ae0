import { createRequire } from "node:module";
import { basename } from "node:path";
import { CohereRerank } from "@langchain/cohere";
import { Document } from "@langchain/core/documents";
import { CohereClient, CohereClientV2 } from "cohere-ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveConfigFromFlags } from "../../src/cli/commands/serve.js";
import type { Reranker } from "../../src/core/types.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { startServer, type RunningServer } from "../../src/server/index.js";

/**
 * Contract tests: the real client packages, configured with their usual model ids,
 * against a real `winnow serve` (the CLI's own flags → config → startServer, a generated
 * cross-encoder in its worker thread), checking the ranking that comes back against the
 * same reranker called directly. LangChain's CohereRerank goes through the cohere-ai 7.x
 * it depends on, which sends unset options as JSON null (`max_chunks_per_doc: null`).
 */
type LangChainCohereClient = NonNullable<NonNullable<ConstructorParameters<typeof CohereRerank>[0]>["client"]>;
const langchainCohere = createRequire(createRequire(import.meta.url).resolve("@langchain/cohere"))("cohere-ai") as {
  // Typed by what CohereRerank accepts: the 7.x package's own CohereClient, not the 8.x one.
  CohereClient: new (options: { token: string; environment: string }) => LangChainCohereClient;
  CohereClientV2: typeof CohereClientV2;
};

const QUERY = "what causes fever in children";
const DOCS = [
  "The energy landscape theory explains how proteins fold into native structures.",
  "Fever in children is most often caused by viral infections.",
  "Vitamin D supplementation improves bone mineral density in older adults.",
  "Unrelated text about aeronautics and boundary layers.",
  "Children with a high fever should drink fluids and rest.",
  "A long abstract ".repeat(200) + "that mentions fever only at the very end.",
];

describe("real Cohere clients against winnow serve", () => {
  let server: RunningServer;
  let direct: Reranker;
  let expected: Array<{ index: number; score: number }>;
  beforeAll(async () => {
    const modelDir = await ensureGeneratedModel("tiny-bert");
    const id = basename(modelDir);
    // As `winnow serve --model DIR --alias rerank-v3.5=DIR-NAME --alias rerank-english-v3.0=DIR-NAME --port 0`.
    const config = serveConfigFromFlags({ model: modelDir, alias: [`rerank-v3.5=${id}`, `rerank-english-v3.0=${id}`], port: "0", logLevel: "silent", docs: true });
    server = await startServer(config);
    direct = await createReranker({ type: "cross-encoder", model: modelDir });
    expected = (await direct.rerank(QUERY, DOCS, { returnDocuments: false })).map((r) => ({ index: r.index, score: r.score }));
    // A ranking that ties would let a wrong order pass.
    expect(new Set(expected.map((r) => r.score.toFixed(6))).size).toBe(DOCS.length);
  });
  afterAll(async () => {
    await direct?.close?.();
    await server?.stop();
  });

  const expectRanking = (got: Array<{ index: number; relevanceScore: number }>, topN: number) => {
    expect(got.map((r) => r.index)).toEqual(expected.slice(0, topN).map((r) => r.index));
    got.forEach((r, k) => expect(Math.abs(r.relevanceScore - expected[k].score)).toBeLessThanOrEqual(1e-6));
  };

  it("@langchain/cohere CohereRerank: compressDocuments and rerank", async () => {
    const client = new langchainCohere.CohereClient({ token: "unused", environment: server.url });
    const reranker = new CohereRerank({ client, model: "rerank-english-v3.0", topN: 3 });
    const docs = DOCS.map((text, i) => new Document({ pageContent: text, metadata: { i } }));
    const compressed = await reranker.compressDocuments(docs, QUERY);
    expect(compressed.map((d) => d.metadata.i)).toEqual(expected.slice(0, 3).map((r) => r.index));
    compressed.forEach((d, k) => expect(Math.abs((d.metadata.relevanceScore as number) - expected[k].score)).toBeLessThanOrEqual(1e-6));

    expectRanking(await reranker.rerank(DOCS, QUERY, { topN: DOCS.length }), DOCS.length);
    // An explicit maxChunksPerDoc reaches the server as a number rather than null.
    const windowed = new CohereRerank({ client, model: "rerank-v3.5", topN: 2, maxChunksPerDoc: 4 });
    expectRanking(await windowed.rerank(DOCS, QUERY), 2);
  });

  it("cohere-ai v1 rerank (the current SDK and LangChain's 7.x)", async () => {
    for (const Client of [CohereClient, langchainCohere.CohereClient]) {
      const v1 = new Client({ token: "unused", environment: server.url });
      const res = await v1.rerank({ model: "rerank-english-v3.0", query: QUERY, documents: DOCS, topN: 4, returnDocuments: true });
      expectRanking(res.results, 4);
      expect(res.results[0].document?.text).toBe(DOCS[expected[0].index]);
      expect(res.meta?.apiVersion?.version).toBe("1");
      expect(res.meta?.warnings).toEqual([]);
    }
  });

  it("cohere-ai v2 rerank (the current SDK and LangChain's 7.x)", async () => {
    for (const Client of [CohereClientV2, langchainCohere.CohereClientV2]) {
      const v2 = new Client({ token: "unused", environment: server.url });
      const res = await v2.rerank({ model: "rerank-v3.5", query: QUERY, documents: DOCS, topN: DOCS.length });
      expectRanking(res.results, DOCS.length);
      expect(res.meta?.apiVersion?.version).toBe("2");
    }
  });

  it("a name that is neither the model nor an alias is refused with the names to use", async () => {
    const v2 = new CohereClientV2({ token: "unused", environment: server.url, maxRetries: 0 } as never);
    const err = (await v2.rerank({ model: "rerank-v4.0-pro", query: QUERY, documents: DOCS }).catch((e: unknown) => e)) as { statusCode?: number; body?: unknown };
    expect(err.statusCode).toBe(404);
    expect(JSON.stringify(err.body)).toContain("rerank-v3.5");
  });
});
