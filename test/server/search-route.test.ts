import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isWinnowError } from "../../src/core/errors.js";
import type { CandidateInput, QueryInput, RankedResult, Reranker, RerankOptions } from "../../src/core/types.js";
import { readCorpus } from "../../src/eval/readers/beir.js";
import { readRequestLog, requestLogRuns } from "../../src/eval/readers/request-log.js";
import { register as registerEval } from "../../src/cli/commands/eval.js";
import { runCommand } from "../support/run-command.js";
import { createPipeline, type Pipeline } from "../../src/pipeline/pipeline.js";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";
import { loadServerConfigFile, type ServerConfigInput } from "../../src/server/config.js";
import { createServer } from "../../src/server/server.js";
import { docs, FixedRetriever, ScriptedReranker } from "../support/fake-retrieval.js";

const repo = resolve(import.meta.dirname, "../..");
const corpus = docs(10);
const firstStage = () => new FixedRetriever("bm25", corpus.map((doc, i) => ({ doc, score: 10 - i })));
const byIndex = () => new ScriptedReranker("byIndex", (d) => Number(d.id.slice(1)));

/** A reranker that answers only when its signal fires: the search can end only through it. */
function waitsForAbort(started: () => void, sawAbort: (reason: unknown) => void): Reranker {
  return {
    name: "waits",
    rerank(_q: QueryInput, _c: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
      started();
      return new Promise((_, reject) => {
        options.signal?.addEventListener("abort", () => {
          sawAbort(options.signal!.reason);
          reject(options.signal!.reason);
        });
      });
    },
  };
}

function pipelineOver(reranker: Reranker): Pipeline {
  return createPipeline({ retrievers: [{ name: "bm25", retriever: firstStage(), k: 10 }], stages: [{ reranker, topK: 10 }], topN: 3 });
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** createServer with a pipeline (and no rerank models unless given), ready to inject into. */
async function server(config: ServerConfigInput, env: NodeJS.ProcessEnv = {}): Promise<FastifyInstance> {
  app = createServer({ logLevel: "silent", ...config }, { env });
  await app.ready();
  await app.winnow.pipeline?.load();
  return app;
}

const search = (a: FastifyInstance, payload: unknown, headers: Record<string, string> = {}) => a.inject({ method: "POST", url: "/v1/search", payload: payload as object, headers });

describe("POST /v1/search on createServer", () => {
  it("is mounted only when the config has a pipeline", async () => {
    const a = await server({ models: [{ id: "m", reranker: byIndex() }] });
    const res = await search(a, { query: "q" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: "NOT_FOUND" });
  });

  it("answers the pipeline's ranking, and bad input with the rerank routes' error body naming the field", async () => {
    const a = await server({ pipeline: pipelineOver(byIndex()) });
    const ok = await search(a, { query: "statins lower cholesterol", top_n: 3, return_documents: false });
    expect(ok.statusCode, ok.body).toBe(200);
    const body = ok.json();
    expect(body.results.map((r: { id: string }) => r.id)).toEqual(["d9", "d8", "d7"]);
    expect(body.results[0]).toMatchObject({ reranked: true, first_stage_rank: 10 });
    expect(body.results[0].document).toBeUndefined();
    expect(body.reranked).toBe(10);
    expect(body.timings_ms.total).toBeGreaterThan(0);
    expect(Number(ok.headers["x-total-time"])).toBeGreaterThan(0);

    const badFilter = await search(a, { query: "x", filter: { year: { above: 1 } } });
    expect(badFilter.statusCode).toBe(422);
    expect(badFilter.json()).toEqual({ message: expect.stringMatching(/filter\.year range accepts only gte, lte, gt, lt \(got "above"\)/), code: "INVALID_INPUT", field: "filter.year" });

    const noQuery = await search(a, { top_n: 3 });
    expect(noQuery.statusCode).toBe(400);
    expect(noQuery.json()).toEqual({ message: "query is required", code: "INVALID_INPUT", field: "query" });

    const typo = await search(a, { query: "x", topN: 3 });
    expect(typo.statusCode).toBe(400);
    expect(typo.json()).toMatchObject({ message: "topN: unknown field", field: "topN" });

    const blank = await search(a, { query: " \u0000 " });
    expect(blank.statusCode).toBe(400);
    expect(blank.json()).toMatchObject({ field: "query" });
  });

  it("holds the body to the server's limits: query characters, budget within the request deadline, body size", async () => {
    const a = await server({ pipeline: pipelineOver(byIndex()), limits: { maxQueryChars: 20, requestTimeoutMs: 5_000, bodyLimitBytes: 2_048 } });
    const longQuery = await search(a, { query: "x".repeat(21) });
    expect(longQuery.statusCode).toBe(400);
    expect(longQuery.json()).toEqual({ message: "query: at most 20 characters allowed", code: "INVALID_INPUT", field: "query", limit: 20 });

    const budget = await search(a, { query: "x", budget_ms: 5_001 });
    expect(budget.statusCode).toBe(400);
    expect(budget.json()).toMatchObject({ field: "budget_ms", limit: 5_000 });

    const big = await search(a, { query: "x", filter: { note: "y".repeat(3_000) } });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ code: "PAYLOAD_TOO_LARGE", field: "body", limit: 2_048 });
  });

  it("needs an API key like every other route", async () => {
    const a = await server({ pipeline: pipelineOver(byIndex()), auth: { keys: ["search-key-0123"] } });
    const anonymous = await search(a, { query: "x" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ code: "UNAUTHORIZED", field: "authorization" });
    const keyed = await search(a, { query: "x" }, { authorization: "Bearer search-key-0123" });
    expect(keyed.statusCode).toBe(200);
  });

  it("ends a search past limits.requestTimeoutMs with 504, its reranking aborted", async () => {
    let sawAbort!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((r) => (sawAbort = r));
    const a = await server({ pipeline: pipelineOver(waitsForAbort(() => undefined, sawAbort)), limits: { requestTimeoutMs: 150 } });
    const res = await search(a, { query: "vitamin D" });
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ code: "TIMEOUT", field: "limits.requestTimeoutMs", limit: 150 });
    const reason = await aborted;
    expect(isWinnowError(reason) && reason.code).toBe("TIMEOUT");
  });

  it("counts requests by route and observes each part of the search in /metrics", async () => {
    const a = await server({ pipeline: pipelineOver(byIndex()) });
    expect((await search(a, { query: "q" })).statusCode).toBe(200);
    expect((await search(a, { query: "" })).statusCode).toBe(400);
    const text = (await a.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).toContain('winnow_http_requests_total{route="/v1/search",status="200"} 1');
    expect(text).toContain('winnow_http_requests_total{route="/v1/search",status="400"} 1');
    for (const part of ["retrieval", "fusion", "rerank", "scoring", "total"]) expect(text).toContain(`winnow_search_seconds_count{part="${part}"} 1`);
  });

  it("exports how much reranking moved the first stage's order, per last stage, like the rerank routes", async () => {
    const a = await server({ pipeline: pipelineOver(byIndex()) });
    // byIndex reverses the first stage: the top 3 answered are its ranks 10, 9, 8
    for (let i = 0; i < 2; i++) expect((await search(a, { query: "q", top_n: 3 })).statusCode).toBe(200);
    const text = (await a.inject({ method: "GET", url: "/metrics" })).body;
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"+]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    // none of the 3 answered were among the first 3 sent; their order among themselves is reversed
    expect(value('winnow_rerank_top_overlap_ratio_sum{model="search:byIndex"}')).toBe(0);
    expect(value('winnow_rerank_top_overlap_ratio_count{model="search:byIndex"}')).toBe(2);
    expect(value('winnow_rerank_kendall_tau_sum{model="search:byIndex"}')).toBe(-2);
    // |0 − 9| + |1 − 8| + |2 − 7| = 21 positions over 3 results, twice
    expect(value('winnow_rerank_mean_displacement_sum{model="search:byIndex"}')).toBe(14);
  });

  it("writes the opt-in request log: every candidate in the first stage's order with real ids, the answer as indices; winnow eval reads it", async () => {
    const work = mkdtempSync(join(tmpdir(), "winnow-search-log-"));
    try {
      const file = join(work, "requests.jsonl");
      const a = await server({ pipeline: pipelineOver(byIndex()), requestLog: { file, sample: 1, texts: true } });
      const res = await search(a, { query: "coral bleaching", top_n: 3, return_documents: false });
      expect(res.statusCode).toBe(200);
      // logging fetched the whole list, the answer is still the requested top 3 without documents
      expect(res.json().results.map((r: { id: string }) => r.id)).toEqual(["d9", "d8", "d7"]);
      expect(res.json().results[0].document).toBeUndefined();
      await a.close();
      app = undefined;
      const records = await readRequestLog(file);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ model: "search:byIndex", query: "coral bleaching" });
      const raw = JSON.parse(readFileSync(file, "utf8").trim());
      expect(raw.documents.map((d: { id: string }) => d.id)).toEqual(corpus.map((d) => d.id));
      expect(raw.documents[0].text).toBe(corpus[0].text);
      expect(raw.results.map((r: { index: number }) => r.index)).toEqual([9, 8, 7]);
      const { firstStage, served } = requestLogRuns(records);
      expect(firstStage.get(records[0].id)!.map((e) => e.docId)).toEqual(corpus.map((d) => d.id));
      expect([...served.get(records[0].id)!].sort((x, y) => y.score - x.score)[0].docId).toBe("d9");
      // judged on the real ids: d9 relevant, so the served order (d9 first) beats the first stage's (d9 last)
      const qrels = join(work, "qrels.tsv");
      writeFileSync(qrels, `query-id\tcorpus-id\tscore\n${records[0].id}\td9\t1\n`);
      const json = JSON.parse(await runCommand(registerEval, ["eval", "--request-log", file, "--qrels", qrels, "--metrics", "ndcg_cut_10", "--format", "json"]));
      expect(json.numQueries).toBe(1);
      // sent: d9 tenth (nDCG@10 = 1/log2(11)); served: first
      expect(json.firstStage.ndcg_cut_10).toBeCloseTo(1 / Math.log2(11), 12);
      expect(json.metrics.ndcg_cut_10).toBe(1);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("logs nothing at sample 0", async () => {
    const work = mkdtempSync(join(tmpdir(), "winnow-search-log-"));
    try {
      const file = join(work, "requests.jsonl");
      const a = await server({ pipeline: pipelineOver(byIndex()), requestLog: { file, sample: 0, texts: false } });
      expect((await search(a, { query: "q" })).statusCode).toBe(200);
      await a.close();
      app = undefined;
      expect(existsSync(file) ? readFileSync(file, "utf8") : "").toBe("");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("serves a pipeline alone: rerank routes answer that no model is served", async () => {
    const a = await server({ pipeline: pipelineOver(byIndex()) });
    const rerank = await a.inject({ method: "POST", url: "/v2/rerank", payload: { query: "q", documents: ["a"] } });
    expect(rerank.statusCode).toBe(404);
    expect(rerank.json()).toMatchObject({ code: "MODEL_NOT_FOUND", message: expect.stringContaining("serves no rerank models") });
    const ready = await a.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", models: {}, pipeline: "ready" });
  });

  it("refuses a config with neither a model nor a pipeline, naming models", () => {
    expect(() => createServer({ models: [] })).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", details: { field: "models" } }));
  });
});

describe("a pipeline named in the server config file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "winnow-search-route-"));
    const index = await Bm25Index.build(readCorpus(join(repo, "examples/scifact-mini")));
    await index.save(join(dir, "index"));
    writeFileSync(join(dir, "pipeline.json"), JSON.stringify({ retrievers: [{ type: "bm25", index: "./index", k: 20 }], stages: [{ reranker: { type: "learned" }, topK: 20 }], topN: 5 }));
    writeFileSync(join(dir, "broken.json"), JSON.stringify({ retrievers: [{ type: "bm25", index: "./no-such-index" }] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads relative to that file, then /ready and /v1/search answer", async () => {
    writeFileSync(join(dir, "server.yaml"), "logLevel: silent\npipeline: pipeline.json\n");
    const config = loadServerConfigFile(join(dir, "server.yaml"));
    expect(config.pipeline).toBe(join(dir, "pipeline.json"));
    const a = await server(config);
    expect((await a.inject({ method: "GET", url: "/ready" })).json()).toMatchObject({ status: "ready", pipeline: "ready" });
    const res = await search(a, { query: "vitamin D deficiency", return_documents: true });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.results).toHaveLength(5);
    expect(body.reranked).toBe(20);
    expect(body.results[0].document.id).toBe(body.results[0].id);
  });

  it("that fails to load: /ready says failed and /v1/search answers 503 saying why", async () => {
    app = createServer({ logLevel: "silent", pipeline: join(dir, "broken.json") }, { env: {} });
    await app.ready();
    await expect(app.winnow.pipeline!.load()).rejects.toThrow();
    const ready = await app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: "failed", pipeline: "failed" });
    const res = await search(app, { query: "x" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: "UNAVAILABLE", field: "pipeline", message: expect.stringContaining("no-such-index") });
  });
});

describe("POST /v1/search over real HTTP", () => {
  it("answers fetch with the reranked results (not 499 ABORTED)", async () => {
    const a = await server({ pipeline: pipelineOver(byIndex()) });
    await a.listen({ port: 0, host: "127.0.0.1" });
    const res = await fetch(`http://127.0.0.1:${(a.server.address() as AddressInfo).port}/v1/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "statins lower cholesterol", top_n: 3, return_documents: false }),
    });
    const body = (await res.json()) as { results: Array<{ id: string }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.results.map((r) => r.id)).toEqual(["d9", "d8", "d7"]);
  });

  it("aborts the search when the client disconnects mid-request", async () => {
    let started!: () => void;
    const rerankStarted = new Promise<void>((r) => (started = r));
    let sawAbort!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((r) => (sawAbort = r));
    const a = await server({ pipeline: pipelineOver(waitsForAbort(started, sawAbort)) });
    await a.listen({ port: 0, host: "127.0.0.1" });
    const body = JSON.stringify({ query: "vitamin D" });
    const req = httpRequest({
      host: "127.0.0.1",
      port: (a.server.address() as AddressInfo).port,
      path: "/v1/search",
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    req.on("error", () => undefined); // the socket we destroy reports ECONNRESET
    req.end(body);
    await rerankStarted;
    req.destroy();
    const guard = new Promise((_, reject) => setTimeout(() => reject(new Error("the pipeline's signal never fired after the client disconnected")), 5000).unref());
    const reason = await Promise.race([aborted, guard]);
    expect(isWinnowError(reason) && reason.code).toBe("ABORTED");
  });
});
