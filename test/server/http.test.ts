import { CohereClient, CohereClientV2, CohereError } from "cohere-ai";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type ServerConfigInput } from "../../src/server/index.js";
import { LexicalReranker, SlowPlainReranker } from "./lexical-scorer.js";

async function listen(config: ServerConfigInput, env: NodeJS.ProcessEnv = {}): Promise<{ app: FastifyInstance; url: string }> {
  const app = createServer({ logLevel: "silent", port: 0, ...config }, { env });
  await app.listen({ host: "127.0.0.1", port: 0 });
  await app.winnow.models.loadAll();
  const addr = app.server.address() as { port: number };
  return { app, url: `http://127.0.0.1:${addr.port}` };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

const DOCS = [
  "Carson City is the capital city of the American state of Nevada.",
  "Washington, D.C. is the capital of the United States. It is a federal district.",
  "Capital punishment has existed in the United States since before it was a country.",
];
const QUERY = "What is the capital of the United States?";

describe("rerank server over HTTP", () => {
  let server: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    server = await listen({
      models: [
        { id: "lexical", reranker: new LexicalReranker(), default: true, aliases: ["rerank-v3.5"] },
        { id: "plain", reranker: new SlowPlainReranker(5) },
      ],
    });
  });
  afterAll(async () => server.app.close());

  it("serves the official cohere-ai v1 client unchanged", async () => {
    const cohere = new CohereClient({ token: "unused", environment: server.url });
    const res = await cohere.rerank({ model: "rerank-v3.5", query: QUERY, documents: DOCS, topN: 2, returnDocuments: true });
    expect(res.results).toHaveLength(2);
    expect(res.results[0].index).toBe(1);
    expect(res.results[0].document?.text).toBe(DOCS[1]);
    expect(res.results[0].relevanceScore).toBeGreaterThan(res.results[1].relevanceScore);
    expect(res.results[0].relevanceScore).toBeLessThanOrEqual(1);
    expect(res.meta?.apiVersion?.version).toBe("1");
    expect(res.meta?.billedUnits?.searchUnits).toBe(1);
    expect(res.meta?.tokens?.inputTokens).toBeGreaterThan(0);
    expect(typeof res.id).toBe("string");
  });

  it("serves the cohere-ai v2 client, and object documents with rank_fields on v1", async () => {
    const v2 = new CohereClientV2({ token: "unused", environment: server.url });
    const res = await v2.rerank({ model: "lexical", query: QUERY, documents: DOCS });
    expect(res.results.map((r) => r.index)).toEqual([1, 0, 2]);
    expect(res.meta?.apiVersion?.version).toBe("2");

    const v1 = new CohereClient({ token: "unused", environment: server.url });
    const objects = await v1.rerank({
      query: "nevada",
      documents: [{ title: "Texas", body: "Austin" }, { title: "Nevada", body: "Carson City" }],
      rankFields: ["title", "body"],
      returnDocuments: true,
    });
    expect(objects.results[0].index).toBe(1);
    // Object documents come back whole, every field preserved.
    expect(objects.results[0].document).toEqual({ title: "Nevada", body: "Carson City" });
  });

  it("surfaces errors to the cohere-ai client as CohereError with the status and a message naming the field", async () => {
    const v1 = new CohereClient({ token: "unused", environment: server.url, maxRetries: 0 } as never);
    const err = await v1.rerank({ model: "no-such-model", query: "q", documents: ["a"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CohereError);
    expect((err as CohereError).statusCode).toBe(404);
    expect(JSON.stringify((err as CohereError).body)).toContain("model");
  });

  it("answers TEI-shaped /rerank with a bare sorted array, raw scores and texts on request", async () => {
    const res = await post(`${server.url}/rerank`, { query: QUERY, texts: DOCS, return_text: true });
    expect(res.status).toBe(200);
    for (const h of ["x-queue-time", "x-tokenization-time", "x-inference-time", "x-total-time", "x-compute-tokens"]) {
      expect(Number.isFinite(Number(res.headers.get(h))), h).toBe(true);
    }
    expect(Number(res.headers.get("x-compute-tokens"))).toBeGreaterThan(0);
    const body = (await res.json()) as Array<{ index: number; score: number; text?: string }>;
    expect(body.map((r) => r.index)).toEqual([1, 0, 2]);
    expect(body[0].text).toBe(DOCS[1]);
    expect(body[0].score).toBeGreaterThan(0);
    expect(body[0].score).toBeLessThan(1);
    const raw = (await (await post(`${server.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: true })).json()) as Array<{ score: number }>;
    // Raw logits of the lexical scorer are integers (overlap - 1).
    expect(raw.every((r) => Number.isInteger(r.score))).toBe(true);
    expect(raw[0].score).toBeGreaterThan(1);
  });

  it("scores a long document by its best window unless truncate is set", async () => {
    const long = `${"filler ".repeat(40)} capital united states`;
    const windowed = (await (await post(`${server.url}/rerank`, { query: "capital united states", texts: [long, "nothing here"], raw_scores: true })).json()) as Array<{ index: number; score: number }>;
    expect(windowed[0]).toEqual({ index: 0, score: 2 });
    const truncated = (await (await post(`${server.url}/rerank`, { query: "capital united states", texts: [long], raw_scores: true, truncate: true })).json()) as Array<{ score: number }>;
    expect(truncated[0].score).toBe(-1);
  });

  it("accepts Jina/Voyage field names on /v1/rerank and reports usage", async () => {
    const res = await post(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS, top_k: 1, return_documents: true });
    const body = (await res.json()) as { results: Array<{ index: number; document: { text: string } }>; usage: { total_tokens: number } };
    expect(res.status).toBe(200);
    expect(body.results).toHaveLength(1);
    expect(body.results[0].document.text).toBe(DOCS[1]);
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    // Voyage's dialect also gets Voyage's list shape.
    const voyage = (body as unknown as { object: string; data: Array<{ index: number; document: string }> });
    expect(voyage.object).toBe("list");
    expect(voyage.data[0]).toMatchObject({ index: 1, document: DOCS[1] });
    const jina = (await (await post(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS, top_n: 1 })).json()) as Record<string, unknown>;
    expect(jina.data).toBeUndefined();
  });

  it("serves a reranker without a BatchScorer per request, and says which options it ignored", async () => {
    const res = await post(`${server.url}/v1/rerank`, { model: "plain", query: QUERY, documents: DOCS, max_chunks_per_doc: 2 });
    const body = (await res.json()) as { results: Array<{ index: number }>; meta: { warnings: string[] } };
    expect(res.status).toBe(200);
    expect(body.results[0].index).toBe(1);
    expect(body.meta.warnings.join(" ")).toContain("max_chunks_per_doc");
  });

  it("answers repeated documents from the score cache when the model has one", async () => {
    const cached = await listen({ models: [{ id: "c", reranker: new LexicalReranker(), cache: true }] });
    try {
      const first = await post(`${cached.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: true });
      const firstBody = await first.json();
      expect(Number(first.headers.get("x-compute-tokens"))).toBeGreaterThan(0);
      // Two cached documents and one new one: only the new one is tokenized and scored.
      const second = await post(`${cached.url}/rerank`, { query: QUERY, texts: [DOCS[0], "the capital of the United States", DOCS[1]], raw_scores: true });
      const secondBody = (await second.json()) as Array<{ index: number; score: number }>;
      const again = await post(`${cached.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: true });
      expect(await again.json()).toEqual(firstBody);
      expect(again.headers.get("x-compute-tokens")).toBe("0");
      expect(secondBody.find((r) => r.index === 1)?.score).toBe(5); // 6 query words in it, minus 1
      const metrics = await (await fetch(`${cached.url}/metrics`)).text();
      expect(metrics).toMatch(/winnow_cache_hits_total\{model="c"\} 5/);
      expect(metrics).toMatch(/winnow_cache_misses_total\{model="c"\} 4/);
      // A different setting (truncate) is a different cache entry.
      const truncated = await post(`${cached.url}/rerank`, { query: QUERY, texts: DOCS, truncate: true });
      expect(Number(truncated.headers.get("x-compute-tokens"))).toBeGreaterThan(0);
    } finally {
      await cached.app.close();
    }
  });

  it("reports health, readiness, models and Prometheus metrics", async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", models: { lexical: "ready", plain: "ready" } });
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: Array<{ id: string }>; models: Array<{ name: string; default: boolean }> };
    expect(models.data.map((m) => m.id)).toEqual(["lexical", "plain"]);
    expect(models.models.find((m) => m.default)?.name).toBe("lexical");
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/winnow_http_requests_total\{route="\/rerank",status="200"\} [1-9]/);
    expect(metrics).toMatch(/winnow_pairs_scored_total\{model="lexical"\} [1-9]/);
    expect(metrics).toContain('winnow_stage_seconds_bucket{le="0.001",model="lexical",stage="queue"}');
    expect(metrics).toContain("winnow_batch_pairs_count");
    expect(metrics).toContain('winnow_queue_depth_pairs{model="lexical"} 0');
  });

  it("publishes an OpenAPI document listing the rerank routes", async () => {
    const doc = (await (await fetch(`${server.url}/docs/json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/rerank", "/v2/rerank", "/rerank", "/health", "/metrics"]));
  });
});

describe("limits", () => {
  let server: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    server = await listen({
      models: [{ id: "lexical", reranker: new LexicalReranker() }],
      limits: { maxDocuments: 5, maxDocumentChars: 50, maxQueryChars: 20, bodyLimitBytes: 2_048 },
    });
  });
  afterAll(async () => server.app.close());

  const cases: Array<[string, unknown, number, string, number | undefined]> = [
    ["too many documents", { query: "q", documents: ["a", "b", "c", "d", "e", "f"] }, 400, "documents", 5],
    ["a long document", { query: "q", documents: ["x".repeat(51)] }, 422, "documents[0]", 50],
    ["a long query", { query: "q".repeat(21), documents: ["a"] }, 400, "query", 20],
    ["a blank query", { query: "   ", documents: ["a"] }, 400, "query", undefined],
    ["a query of a NUL character", { query: "\u0000", documents: ["a"] }, 400, "query", undefined],
    ["top_n of 0", { query: "q", documents: ["a"], top_n: 0 }, 400, "top_n", 1],
    ["a huge top_n", { query: "q", documents: ["a"], top_n: 1e9 }, 400, "top_n", 10_000],
    ["a top_n of the wrong type", { query: "q", documents: ["a"], top_n: "3" }, 400, "top_n", undefined],
  ];
  for (const [what, body, status, field, limit] of cases) {
    it(`rejects ${what} with ${status}, naming ${field}`, async () => {
      const res = await post(`${server.url}/v1/rerank`, body);
      expect(res.status).toBe(status);
      const err = (await res.json()) as { message: string; field: string; limit?: number };
      expect(err.field).toBe(field);
      expect(err.message).toContain(field);
      if (limit !== undefined) {
        expect(err.limit).toBe(limit);
        expect(err.message).toContain(String(limit));
      }
    });
  }

  it("rejects a body over the byte limit with 413, and TEI routes answer in TEI's error shape", async () => {
    const res = await post(`${server.url}/rerank`, { query: "q", texts: ["y".repeat(3_000)] });
    expect(res.status).toBe(413);
    const err = (await res.json()) as { error: string; error_type: string; limit: number };
    expect(err.error_type).toBe("Validation");
    expect(err.error).toContain("2048");
    expect(err.limit).toBe(2_048);
  });

  it("returns every document when top_n exceeds their count", async () => {
    const res = await post(`${server.url}/v2/rerank`, { model: "lexical", query: "q", documents: ["a", "q"], top_n: 50 });
    expect(((await res.json()) as { results: unknown[] }).results).toHaveLength(2);
  });
});

describe("auth", () => {
  let server: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    server = await listen({ models: [{ id: "lexical", reranker: new LexicalReranker() }], auth: { keys: ["inline-key-0001"] } }, { WINNOW_API_KEYS: "env-key-00002, env-key-00003" });
  });
  afterAll(async () => server.app.close());

  it("accepts every configured key (inline and from WINNOW_API_KEYS) and refuses others with 401 JSON", async () => {
    const body = { query: "q", documents: ["q"] };
    for (const key of ["inline-key-0001", "env-key-00002", "env-key-00003"]) {
      expect((await post(`${server.url}/v1/rerank`, body, { authorization: `Bearer ${key}` })).status).toBe(200);
    }
    const none = await post(`${server.url}/v1/rerank`, body);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect(((await none.json()) as { message: string }).message).toContain("Authorization");
    const wrong = await post(`${server.url}/rerank`, { query: "q", texts: ["q"] }, { authorization: "Bearer inline-key-0002" });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error_type: string }).error_type).toBe("Unauthorized");
    const cohere = new CohereClient({ token: "env-key-00002", environment: server.url });
    expect((await cohere.rerank({ query: "q", documents: ["q", "r"] })).results).toHaveLength(2);
  });

  it("keeps /health, /ready and /metrics open", async () => {
    for (const path of ["/health", "/ready", "/metrics"]) expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    expect((await fetch(`${server.url}/v1/models`)).status).toBe(401);
  });
});
