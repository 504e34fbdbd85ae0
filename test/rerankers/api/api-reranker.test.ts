import { afterEach, describe, expect, it } from "vitest";
import { ApiReranker, type ApiRerankerOptions } from "../../../src/rerankers/api/api-reranker.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { fakeRelevance, type HarnessServer } from "../../support/fake-vendors/http-harness.js";
import { answerVendorRequest, startFakeVendor, type FakeVendor } from "../../support/fake-vendors/rerank-vendors.js";
import { caught } from "../../support/caught.js";

const KEY = "test-key-0123456789";
const FAST = { backoffBaseMs: 1, backoffMaxMs: 5, retryAfterCapMs: 100, timeoutMs: 2000 };
const QUERY = "solar panel efficiency in cold climates";
const DOCS = [
  "A history of the printing press.",
  "Solar panel output rises in cold climates because efficiency improves at low temperature.",
  "Wind turbines in cold climates need de-icing.",
  "Panel discussion on climate policy.",
  "Efficiency of solar cells: a review.",
  "Cold brew coffee recipes.",
  "Solar panel installation guide.",
  "Heat pumps and efficiency in cold weather.",
];

/** The order the fake vendors' word-overlap scorer implies: score desc, ties by input position. */
function expectedOrder(query: string, docs: string[]): number[] {
  return docs.map((d, i) => ({ i, s: fakeRelevance(query, d) })).sort((a, b) => b.s - a.s || a.i - b.i).map((x) => x.i);
}

interface VendorCase {
  vendor: FakeVendor;
  provider: ApiRerankerOptions["provider"];
  docsField: string;
  /** Default `query`. */
  queryField?: string;
  topNField?: string;
  keyed: boolean;
  usage: "searchUnits" | "totalTokens" | "none";
}

const VENDORS: VendorCase[] = [
  { vendor: "cohere", provider: "cohere", docsField: "documents", topNField: "top_n", keyed: true, usage: "searchUnits" },
  { vendor: "cohere-v1", provider: "cohere-v1", docsField: "documents", topNField: "top_n", keyed: true, usage: "searchUnits" },
  { vendor: "jina", provider: "jina", docsField: "documents", topNField: "top_n", keyed: true, usage: "totalTokens" },
  { vendor: "voyage", provider: "voyage", docsField: "documents", topNField: "top_k", keyed: true, usage: "totalTokens" },
  { vendor: "mixedbread", provider: "mixedbread", docsField: "input", topNField: "top_k", keyed: true, usage: "totalTokens" },
  { vendor: "tei", provider: "tei", docsField: "texts", keyed: false, usage: "none" },
  { vendor: "infinity", provider: "infinity", docsField: "documents", topNField: "top_n", keyed: false, usage: "totalTokens" },
  { vendor: "vllm", provider: "vllm", docsField: "documents", topNField: "top_n", keyed: false, usage: "totalTokens" },
  { vendor: "vllm-score", provider: "vllm-score", docsField: "text_2", queryField: "text_1", keyed: false, usage: "totalTokens" },
  { vendor: "llama-cpp", provider: "llama-cpp", docsField: "documents", topNField: "top_n", keyed: false, usage: "totalTokens" },
];

const quietLogger = () => {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  return { lines, warn: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }) };
};

describe("ApiReranker protocol, per vendor row", () => {
  let server: HarnessServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  for (const c of VENDORS) {
    describe(c.vendor, () => {
      it("sends the vendor's request shape and maps scores back by index", async () => {
        server = await startFakeVendor(c.vendor, { apiKey: c.keyed ? KEY : undefined });
        const usages: unknown[] = [];
        const r = new ApiReranker({ provider: c.provider, model: "m-1", baseUrl: server.url, apiKey: c.keyed ? KEY : undefined, ...FAST, onUsage: (u) => usages.push(u) });
        const out = await r.rerank(QUERY, DOCS, { topN: 5 });
        expect(out.map((x) => x.index)).toEqual(expectedOrder(QUERY, DOCS).slice(0, 5));
        expect(out[0].score).toBeCloseTo(fakeRelevance(QUERY, DOCS[out[0].index]), 10);
        expect(out[0].document?.text).toBe(DOCS[out[0].index]);
        const req = server.requests[0];
        const body = req.body as Record<string, unknown>;
        expect(body[c.docsField]).toEqual(DOCS);
        expect(body[c.queryField ?? "query"]).toBe(QUERY);
        if (c.topNField) expect(body[c.topNField]).toBe(DOCS.length);
        if (c.keyed) expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
        else expect(req.headers.authorization).toBeUndefined();
        expect(r.stats()).toMatchObject({ calls: 1, requests: 1, retries: 0, degraded: 0 });
        expect(usages).toHaveLength(1);
        if (c.usage === "searchUnits") expect(r.lastUsage?.searchUnits).toBe(1);
        if (c.usage === "totalTokens") expect(r.lastUsage?.totalTokens).toBeGreaterThan(0);
        if (c.usage === "none") expect(r.lastUsage?.totalTokens).toBeUndefined();
      });

      it("splits a request over the per-call limit, bounded in concurrency, and merges by index", async () => {
        server = await startFakeVendor(c.vendor, { apiKey: c.keyed ? KEY : undefined, maxDocuments: 3, script: [{ kind: "delay", ms: 30 }, { kind: "delay", ms: 30 }, { kind: "delay", ms: 30 }] });
        const r = new ApiReranker({ provider: c.provider, model: "m-1", baseUrl: server.url, apiKey: c.keyed ? KEY : undefined, ...FAST, maxDocumentsPerCall: 3, concurrency: 2 });
        const out = await r.rerank(QUERY, DOCS);
        expect(out.map((x) => x.index)).toEqual(expectedOrder(QUERY, DOCS));
        expect(server.requests).toHaveLength(3);
        expect(server.requests.map((q) => ((q.body as Record<string, unknown>)[c.docsField] as string[]).length)).toEqual([3, 3, 2]);
        // With concurrency 2 and three 30 ms answers, the third request waits for a slot.
        const starts = server.requests.map((q) => q.at).sort((a, b) => a - b);
        expect(starts[2] - starts[0]).toBeGreaterThanOrEqual(20);
      });

      it("the fake answers a wrong field name the way the vendor does (400/422)", async () => {
        server = await startFakeVendor(c.vendor, { apiKey: c.keyed ? KEY : undefined });
        const wrong = c.docsField === "documents" ? "docs" : "documents";
        const res = answerVendorRequest(c.vendor, { method: "POST", path: pathOf(c.vendor), headers: { authorization: `Bearer ${KEY}` }, body: { model: "m", query: "q", [wrong]: ["a"] }, rawBody: "", at: 0 }, { apiKey: c.keyed ? KEY : undefined });
        expect([400, 422]).toContain(res.status);
      });
    });
  }
});

function pathOf(v: FakeVendor): string {
  return { cohere: "/v2/rerank", "cohere-v1": "/v1/rerank", jina: "/v1/rerank", voyage: "/v1/rerank", mixedbread: "/v1/reranking", tei: "/rerank", infinity: "/rerank", vllm: "/v1/rerank", "vllm-score": "/score", "llama-cpp": "/v1/rerank" }[v];
}

describe("ApiReranker failures", () => {
  let server: HarnessServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const make = (extra: Partial<ApiRerankerOptions> = {}) => new ApiReranker({ provider: "cohere", model: "rerank-v3.5", baseUrl: server!.url, apiKey: KEY, ...FAST, maxRetries: 2, ...extra });

  it("retries 429 with Retry-After and 5xx, counting retries", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY, script: [{ kind: "status", status: 429, headers: { "retry-after": "0" } }, { kind: "status", status: 503 }] });
    const r = make();
    const out = await r.rerank(QUERY, DOCS);
    expect(out[0].index).toBe(expectedOrder(QUERY, DOCS)[0]);
    expect(r.lastUsage).toMatchObject({ requests: 3, retries: 2 });
  });

  it("throws RATE_LIMITED / UPSTREAM_ERROR / TIMEOUT when retries run out (onError: throw)", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY, script: Array.from({ length: 3 }, () => ({ kind: "status" as const, status: 429, headers: { "retry-after": "0" } })) });
    expect((await caught(make().rerank(QUERY, DOCS))).code).toBe("RATE_LIMITED");
    server.script = Array.from({ length: 3 }, () => ({ kind: "status" as const, status: 500, body: "internal kaboom" }));
    const e500 = await caught(make().rerank(QUERY, DOCS));
    expect(e500.code).toBe("UPSTREAM_ERROR");
    expect(e500.details.status).toBe(500);
    expect(e500.message).toContain("internal kaboom");
    server.script = [{ kind: "delay", ms: 3000 }];
    const r = make({ timeoutMs: 60, maxRetries: 0 });
    const et = await caught(r.rerank(QUERY, DOCS));
    expect(et.code).toBe("TIMEOUT");
    expect(r.stats().failed).toBe(1);
  });

  it("rejects responses that break the protocol: missing, duplicate or out-of-range indices", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY });
    const cases = [
      { body: JSON.stringify({ results: [{ index: 0, relevance_score: 0.5 }] }), problem: /missing/ },
      { body: JSON.stringify({ results: [{ index: 0, relevance_score: 0.5 }, { index: 0, relevance_score: 0.4 }] }), problem: /twice/ },
      { body: JSON.stringify({ results: [{ index: 7, relevance_score: 0.5 }, { index: 0, relevance_score: 0.4 }] }), problem: /outside/ },
      { body: JSON.stringify({ results: [{ index: 0, score: 0.5 }, { index: 1, score: 0.4 }] }), problem: /relevance_score/ },
      { body: JSON.stringify({ data: [] }), problem: /results/ },
      { body: '{"results": [', problem: /JSON/ },
    ];
    for (const c of cases) {
      server.script = [{ kind: "raw", body: c.body }];
      const err = await caught(make().rerank(QUERY, DOCS.slice(0, 2)));
      expect(err.code).toBe("UPSTREAM_ERROR");
      expect(err.message).toMatch(c.problem);
    }
  });

  it("falls back to the first-stage order when asked, flagged, counted and logged once", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY, script: Array.from({ length: 3 }, () => ({ kind: "status" as const, status: 503 })) });
    const logger = quietLogger();
    const r = make({ onError: "fallback", logger });
    const candidates = DOCS.map((text, i) => ({ document: { id: `d${i}`, text }, score: 10 - i, rank: i + 1 }));
    const out = await r.rerank(QUERY, candidates, { topN: 4 });
    expect(out.map((x) => x.id)).toEqual(["d0", "d1", "d2", "d3"]);
    expect(out.map((x) => x.score)).toEqual([10, 9, 8, 7]);
    expect(out.every((x) => x.details?.degraded === true && x.details?.reason === "UPSTREAM_ERROR")).toBe(true);
    expect(r.stats().degraded).toBe(1);
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0].obj.status).toBe(503);
    expect(JSON.stringify(logger.lines)).not.toContain(KEY);
    // Healthy again: the next call is reranked for real and not flagged.
    const ok = await r.rerank(QUERY, candidates);
    expect(ok[0].details).toBeUndefined();
    expect(ok[0].index).toBe(expectedOrder(QUERY, DOCS)[0]);
    expect(r.stats().degraded).toBe(1);
  });

  it("does not fall back when the caller aborts", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY, script: [{ kind: "delay", ms: 3000 }] });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const err = await caught(make({ onError: "fallback", logger: quietLogger() }).rerank(QUERY, DOCS, { signal: ac.signal }));
    expect(err.code).toBe("ABORTED");
  });

  it("reports a wrong key as UPSTREAM_ERROR 401 without the key", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY });
    const err = await caught(make({ apiKey: "wrong-key-abcdef" }).rerank(QUERY, DOCS));
    expect(err.code).toBe("UPSTREAM_ERROR");
    expect(err.details.status).toBe(401);
    expect(err.message).toContain("invalid api token");
    expect(err.message).not.toContain("wrong-key-abcdef");
  });

  it("handles empty candidate lists without a call and validates input", async () => {
    server = await startFakeVendor("cohere", { apiKey: KEY });
    const r = make();
    expect(await r.rerank(QUERY, [])).toEqual([]);
    expect(server.requests).toHaveLength(0);
    expect((await caught(r.rerank("  ", DOCS))).code).toBe("INVALID_INPUT");
    expect((await caught(r.rerank(QUERY, DOCS, { topN: 0 }))).code).toBe("INVALID_INPUT");
  });
});

describe("ApiReranker configuration", () => {
  it("reads keys from the vendor's environment variable and names the variable when missing", () => {
    const saved = process.env.VOYAGE_API_KEY;
    try {
      delete process.env.VOYAGE_API_KEY;
      expect(() => new ApiReranker({ provider: "voyage" })).toThrow(/VOYAGE_API_KEY/);
      process.env.VOYAGE_API_KEY = "env-key-123456";
      expect(new ApiReranker({ provider: "voyage" }).name).toBe("voyage:rerank-2.5");
    } finally {
      if (saved === undefined) delete process.env.VOYAGE_API_KEY;
      else process.env.VOYAGE_API_KEY = saved;
    }
  });

  it("names the bad field of a spec (CONFIG_INVALID)", async () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: "cohere", apiKey: KEY, timeoutMs: -5 }, /timeoutMs/],
      [{ type: "jina", apiKey: KEY, baseUrl: "not a url" }, /baseUrl/],
      [{ type: "tei", baseUrl: "http://127.0.0.1:1", windw: 3 }, /windw/],
      [{ type: "voyage", apiKey: KEY, onError: "ignore" }, /onError/],
      [{ type: "jina", apiKey: KEY, apiVersion: "v1" }, /apiVersion/],
    ];
    for (const [spec, field] of bad) {
      const err = await caught(createReranker(spec as { type: string }));
      expect(err.code).toBe("CONFIG_INVALID");
      expect(err.message).toMatch(field);
    }
  });

  it("builds every provider through the registry, cohere v1 via apiVersion", async () => {
    for (const type of ["cohere", "jina", "voyage", "mixedbread", "tei", "infinity"]) {
      const r = await createReranker({ type, apiKey: KEY, model: "m", baseUrl: "http://127.0.0.1:9" });
      expect(r).toBeInstanceOf(ApiReranker);
      expect((r as ApiReranker).provider).toBe(type);
    }
    const v1 = (await createReranker({ type: "cohere", apiVersion: "v1", apiKey: KEY, offline: true })) as ApiReranker;
    expect(v1.provider).toBe("cohere-v1");
  });
});
