import { afterEach, describe, expect, it } from "vitest";
import { CohereClient, CohereClientV2 } from "cohere-ai";
import { ApiReranker } from "../../../src/rerankers/api/api-reranker.js";
import type { HarnessServer } from "../../support/fake-vendors/http-harness.js";
import { startFakeVendor } from "../../support/fake-vendors/rerank-vendors.js";

/**
 * The official cohere-ai SDK is pointed at our fake Cohere server: if the fake accepts
 * the SDK's requests and the SDK parses the fake's answers, the fake speaks Cohere's
 * protocol, and then so does ApiReranker, which the same fake validates.
 */
const KEY = "co-test-key-987654321";
const DOCS = ["Paris is the capital of France.", "Berlin is in Germany.", "The capital of France is a large city."];

describe("fake Cohere vs the cohere-ai SDK", () => {
  let server: HarnessServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("v2: the SDK's request passes validation, its parse of the answer matches ours", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY });
    const sdk = new CohereClientV2({ token: KEY, environment: server.url });
    const res = await sdk.rerank({ model: "rerank-v3.5", query: "capital of France", documents: DOCS, topN: 3 });
    expect(res.results.map((r) => r.index)).toHaveLength(3);
    expect(res.meta?.billedUnits?.searchUnits).toBe(1);
    const sdkBody = server.requests[0].body as Record<string, unknown>;

    const ours = await new ApiReranker({ provider: "cohere", model: "rerank-v3.5", apiKey: KEY, baseUrl: server.url }).rerank("capital of France", DOCS);
    const ourBody = server.requests[1].body as Record<string, unknown>;
    expect(server.requests[1].path).toBe(server.requests[0].path);
    expect(Object.keys(ourBody).sort()).toEqual(Object.keys(sdkBody).sort());
    expect(ours.map((r) => r.index)).toEqual(res.results.map((r) => r.index));
    expect(ours.map((r) => r.score)).toEqual(res.results.map((r) => r.relevanceScore));
  });

  it("v1: same check against /v1/rerank", async () => {
    server = await startFakeVendor("cohere-v1", { apiKey: KEY });
    const sdk = new CohereClient({ token: KEY, environment: server.url });
    const res = await sdk.rerank({ model: "rerank-english-v3.0", query: "capital of France", documents: DOCS, returnDocuments: false });
    const ours = await new ApiReranker({ provider: "cohere-v1", apiKey: KEY, baseUrl: server.url }).rerank("capital of France", DOCS);
    expect(server.requests.map((r) => r.path)).toEqual(["/v1/rerank", "/v1/rerank"]);
    expect(ours.map((r) => r.index)).toEqual(res.results.map((r) => r.index));
  });
});
