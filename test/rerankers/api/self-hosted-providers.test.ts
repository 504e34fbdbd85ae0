import { afterEach, describe, expect, it } from "vitest";
import { ApiReranker } from "../../../src/rerankers/api/api-reranker.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { caught } from "../../support/caught.js";
import { fakeRelevance, type HarnessServer } from "../../support/fake-vendors/http-harness.js";
import { startFakeVendor } from "../../support/fake-vendors/rerank-vendors.js";

/**
 * The self-hosted servers' rows (vLLM rerank and score, llama.cpp) against fakes speaking
 * their documented shapes (test/support/fake-vendors/rerank-vendors.ts cites them): what
 * differs from the hosted vendors (no key, model optional, vLLM /score's text_1/text_2 and
 * unsorted data), and the retry and timeout behaviour every API row shares.
 */
const QUERY = "solar panel efficiency in cold climates";
const DOCS = ["A history of the printing press.", "Solar panel output rises in cold climates.", "Efficiency of solar cells: a review.", "Cold brew coffee recipes."];
const expected = DOCS.map((d, i) => ({ i, s: fakeRelevance(QUERY, d) })).sort((a, b) => b.s - a.s || a.i - b.i);
const FAST = { backoffBaseMs: 1, backoffMaxMs: 5, retryAfterCapMs: 100, timeoutMs: 2000 };

describe("self-hosted rerank servers", () => {
  let server: HarnessServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  for (const type of ["vllm", "vllm-score", "llama-cpp"] as const) {
    it(`${type}: built from its registry spec without a key or model; the request leaves model out and the ranking is the server's`, async () => {
      server = await startFakeVendor(type);
      const r = await createReranker({ type, baseUrl: server.url, ...FAST });
      const out = await r.rerank(QUERY, DOCS);
      expect(out.map((x) => x.index)).toEqual(expected.map((e) => e.i));
      out.forEach((x, k) => expect(x.score).toBe(expected[k].s));
      const body = server.requests[0].body as Record<string, unknown>;
      expect(body).not.toHaveProperty("model");
      expect(server.requests[0].headers.authorization).toBeUndefined();
      expect(r.name).toBe(`${type}:${server.url}`);
    });
  }

  it("a model that is set is sent", async () => {
    server = await startFakeVendor("vllm");
    await new ApiReranker({ provider: "vllm", model: "BAAI/bge-reranker-v2-m3", baseUrl: server.url, ...FAST }).rerank(QUERY, DOCS);
    expect((server.requests[0].body as Record<string, unknown>).model).toBe("BAAI/bge-reranker-v2-m3");
  });

  it("vllm-score sends text_1/text_2 and maps data[].score (input order) back by index", async () => {
    server = await startFakeVendor("vllm-score");
    const out = await new ApiReranker({ provider: "vllm-score", baseUrl: server.url, ...FAST }).rerank(QUERY, DOCS, { topN: 2 });
    const body = server.requests[0].body as Record<string, unknown>;
    expect(body).toEqual({ text_1: QUERY, text_2: DOCS });
    expect(out.map((x) => x.index)).toEqual(expected.slice(0, 2).map((e) => e.i));
  });

  it("retries a 503 and times out a server that does not answer, as the other API rows", async () => {
    server = await startFakeVendor("llama-cpp", { script: [{ kind: "status", status: 503, body: '{"error":{"code":503,"message":"Loading model"}}' }] });
    const r = new ApiReranker({ provider: "llama-cpp", baseUrl: server.url, ...FAST, maxRetries: 2 });
    expect((await r.rerank(QUERY, DOCS)).map((x) => x.index)).toEqual(expected.map((e) => e.i));
    expect(r.lastUsage?.retries).toBe(1);
    await server.close();

    server = await startFakeVendor("vllm", { script: [{ kind: "delay", ms: 1_000 }] });
    const slow = new ApiReranker({ provider: "vllm", baseUrl: server.url, ...FAST, timeoutMs: 100, maxRetries: 0 });
    const err = await caught(slow.rerank(QUERY, DOCS));
    expect(err.code).toBe("TIMEOUT");
  });

  it("an instruction is refused by name: none of these servers takes one", async () => {
    server = await startFakeVendor("vllm");
    const r = await createReranker({ type: "vllm", baseUrl: server.url, ...FAST });
    const err = await caught(r.rerank(QUERY, DOCS, { instruction: "prefer reviews" }));
    expect(err.message).toMatch(/instruction/);
    expect(server.requests).toHaveLength(0);
  });
});
