import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CrossEncoderCallOptions } from "../../src/rerankers/cross-encoder/cross-encoder-call-options.js";
import { DOCS, expectServedRanking, QUERY, startServedFixture, type ServedFixture } from "./client-served-model.js";

/**
 * The bodies TEI and Infinity clients send (huggingface_hub's InferenceClient.text_ranking,
 * LangChain/LlamaIndex TEI rerankers, Infinity's own client), and TEI's /info, /health,
 * /tokenize; the model routes clients probe. Request and response shapes as documented:
 * TEI https://huggingface.github.io/text-embeddings-inference/ (openapi.json: RerankRequest,
 * Rank, Info, TokenizeRequest, SimpleToken); Infinity https://michaelfeil.github.io/infinity/
 * (RerankInput → ReRankResult: object "rerank", results[{relevance_score, index, document}], usage).
 */
type TeiRank = { index: number; score: number; text?: string };
const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("TEI and Infinity clients against winnow serve", () => {
  let f: ServedFixture;
  const own = async (options: CrossEncoderCallOptions) =>
    (await f.direct.rerank(QUERY, DOCS, { returnDocuments: false, family: { "cross-encoder": options } })).map((r) => ({ index: r.index, score: r.score }));
  beforeAll(async () => {
    f = await startServedFixture();
  });
  afterAll(async () => f?.close());

  it("POST /rerank as TEI clients send it (truncate: null, no model) returns Winnow's ranking as a bare array", async () => {
    const res = await post(`${f.server.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: false, return_text: false, truncate: null, truncation_direction: "Right" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as TeiRank[];
    expectServedRanking(f.expected, body);
    expect(body.every((r) => r.text === undefined)).toBe(true);
  });

  it("raw_scores: logits; return_text: the texts", async () => {
    const body = (await (await post(`${f.server.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: true, return_text: true })).json()) as TeiRank[];
    const logits = await own({ scores: "logit" });
    expectServedRanking(logits, body);
    expect(logits.some((r) => r.score < 0 || r.score > 1)).toBe(true); // logits, not activations
    for (const r of body) expect(r.text).toBe(DOCS[r.index]);
  });

  it("truncate: true with truncation_direction Right and Left keep the start and the end of the long text", async () => {
    for (const direction of ["Right", "Left"] as const) {
      const body = (await (await post(`${f.server.url}/rerank`, { query: QUERY, texts: DOCS, truncate: true, truncation_direction: direction })).json()) as TeiRank[];
      expectServedRanking(await own({ truncate: true, truncationDirection: direction === "Left" ? "left" : "right" }), body);
    }
    const left = (await (await post(`${f.server.url}/rerank`, { query: QUERY, texts: DOCS, truncate: true, truncation_direction: "Left" })).json()) as TeiRank[];
    const right = (await (await post(`${f.server.url}/rerank`, { query: QUERY, texts: DOCS, truncate: true, truncation_direction: "Right" })).json()) as TeiRank[];
    // Document 5's start and end differ, so its score does.
    expect(left.find((r) => r.index === 5)!.score).not.toBeCloseTo(right.find((r) => r.index === 5)!.score, 6);
  });

  it("Infinity's body (documents, top_n, return_documents, model) gets Infinity's answer", async () => {
    const res = await post(`${f.server.url}/rerank`, { query: QUERY, documents: DOCS, top_n: 3, return_documents: true, raw_scores: false, model: "rerank-v3.5" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; results: Array<{ relevance_score: number; index: number; document: string | null }>; model: string; usage: { prompt_tokens: number; total_tokens: number }; id: string; created: number };
    expect(body.object).toBe("rerank");
    expect(body.model).toBe(f.id);
    expectServedRanking(f.expected, body.results.map((r) => ({ index: r.index, score: r.relevance_score })), 3);
    for (const r of body.results) expect(r.document).toBe(DOCS[r.index]);
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(Number.isInteger(body.created)).toBe(true);
    const bare = (await (await post(`${f.server.url}/rerank`, { query: QUERY, documents: DOCS })).json()) as typeof body;
    expect(bare.results.map((r) => r.document)).toEqual(DOCS.map(() => null));
  });

  it("mixing the two dialects is refused naming the field", async () => {
    for (const [body, field] of [
      [{ query: QUERY, texts: DOCS, documents: DOCS }, "documents"],
      [{ query: QUERY, texts: DOCS, top_n: 2 }, "top_n"],
      [{ query: QUERY, documents: DOCS, return_text: true }, "return_text"],
      [{ query: QUERY }, "texts"],
    ] as const) {
      const res = await post(`${f.server.url}/rerank`, body);
      expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      const err = (await res.json()) as { error: string; error_type: string; field: string };
      expect(err.field).toBe(field);
      expect(err.error).toContain(field);
    }
  });

  it("GET /info and /health as TEI answers them", async () => {
    const info = (await (await fetch(`${f.server.url}/info`)).json()) as Record<string, unknown>;
    expect(info.model_id).toBe(f.modelDir);
    // tiny-bert's config: max_position_embeddings 512 (the generator's preset).
    expect(info.max_input_length).toBe(512);
    expect(info.max_batch_tokens).toEqual(expect.any(Number));
    expect(info.max_concurrent_requests).toBe(4);
    expect(info.max_client_batch_size).toEqual(expect.any(Number));
    expect(info.model_type).toHaveProperty("reranker");
    expect(await (await fetch(`${f.server.url}/health`)).json()).toEqual({ status: "ok" });
  });

  it("POST /tokenize: the model's tokens, special ones marked, one list per input", async () => {
    const res = await post(`${f.server.url}/tokenize`, { inputs: ["fever in children", "rest"], add_special_tokens: true });
    expect(res.status).toBe(200);
    const lists = (await res.json()) as Array<Array<{ id: number; text: string; special: boolean; start: null; stop: null }>>;
    expect(lists).toHaveLength(2);
    expect(lists[0][0]).toMatchObject({ text: "[CLS]", special: true });
    expect(lists[0].at(-1)).toMatchObject({ text: "[SEP]", special: true });
    expect(lists[0].filter((t) => !t.special).map((t) => t.text).join(" ")).toMatch(/^fe.*children$/);
    const plain = (await (await post(`${f.server.url}/tokenize`, { inputs: "rest", add_special_tokens: false })).json()) as typeof lists;
    expect(plain[0].every((t) => !t.special)).toBe(true);
    expect(plain[0].map((t) => t.id)).toEqual(lists[1].slice(1, -1).map((t) => t.id));
    const refused = await post(`${f.server.url}/tokenize`, { inputs: "x", prompt_name: "query" });
    expect(((await refused.json()) as { field: string }).field).toBe("prompt_name");
  });

  it("GET /v1/models and /v1/models/{id}: the model by id and by the alias clients send; 404 names the served ones", async () => {
    const list = (await (await fetch(`${f.server.url}/v1/models`)).json()) as { data: Array<{ id: string }>; models: Array<{ name: string; aliases: string[] }> };
    expect(list.data.map((m) => m.id)).toEqual([f.id]);
    expect(list.models[0].aliases).toContain("rerank-v3.5");
    for (const name of [f.id, "rerank-v3.5"]) {
      const m = (await (await fetch(`${f.server.url}/v1/models/${name}`)).json()) as { id: string; object: string; aliases: string[] };
      expect(m).toMatchObject({ id: f.id, object: "model" });
    }
    const missing = await fetch(`${f.server.url}/v1/models/BAAI/bge-reranker-v2-m3`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toContain("rerank-v3.5");
  });
});
