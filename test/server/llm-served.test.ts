import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/index.js";
import { fakeRelevance } from "../support/fake-vendors/http-harness.js";
import { startFakeChat, type FakeChatServer } from "../support/fake-vendors/fake-chat-server.js";
import { LexicalReranker, SlowPlainReranker } from "./lexical-scorer.js";

const QUERY = "coral reef bleaching ocean temperature";
const DOCS = [
  "Stock markets fell on Tuesday.",
  "Coral reef bleaching follows spikes in ocean temperature.",
  "Ocean currents and temperature records.",
  "A recipe for lemon cake.",
  "Reef fish diversity in the Pacific.",
  "Bleaching of coral after a marine heatwave raised ocean temperature.",
  "Temperature control in data centres.",
  "Coral gardening to restore a reef.",
];
const truth = DOCS.map((d, i) => ({ i, s: fakeRelevance(QUERY, d) }))
  .sort((a, b) => b.s - a.s || a.i - b.i)
  .map((x) => x.i);
const INSTRUCTION = "Prefer passages about marine biology";

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** The prompts (last user message) the fake endpoint received since `from`. */
const promptsSince = (chat: FakeChatServer, from: number) =>
  chat.requests.slice(from).map((r) => {
    const messages = (r.body as { messages: Array<{ content: string }> }).messages;
    return messages[messages.length - 1].content;
  });

/**
 * LLM rerankers served from specs, in the model worker, against a fake OpenAI-compatible
 * endpoint: what a request asks (top_n, instruction) reaches the family and is honoured.
 */
describe("serving LLM rerankers: top_n and instruction reach the family", () => {
  let chat: FakeChatServer;
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    chat = await startFakeChat();
    const llm = (mode: string) => ({ type: "llm", mode, baseUrl: `${chat.url}/v1`, model: "fake-7b", backoffBaseMs: 1, maxRetries: 0 });
    app = createServer({
      logLevel: "silent",
      models: [
        { id: "listwise", reranker: llm("listwise") },
        { id: "pairwise", reranker: llm("pairwise") },
      ],
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await chat?.close();
  });

  it("listwise: answers top_n results in the family's order, and the prompt carries the instruction", async () => {
    expect(app.winnow.models.all[0].inWorker).toBe(true);
    const from = chat.requests.length;
    const res = await post(url, "/v2/rerank", { model: "listwise", query: QUERY, documents: DOCS, top_n: 3, instruction: INSTRUCTION, return_documents: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: Array<{ index: number; relevance_score: number; document: { text: string } }> };
    expect(body.results.map((r) => r.index)).toEqual(truth.slice(0, 3));
    expect(body.results.map((r) => r.document.text)).toEqual(truth.slice(0, 3).map((i) => DOCS[i]));
    const prompts = promptsSince(chat, from);
    expect(prompts.length).toBeGreaterThan(0);
    for (const p of prompts) expect(p).toContain(INSTRUCTION);
  });

  it("listwise without an instruction: no instruction in the prompt, every document ranked", async () => {
    const from = chat.requests.length;
    const res = await post(url, "/v1/rerank", { model: "listwise", query: QUERY, documents: DOCS });
    const body = (await res.json()) as { results: Array<{ index: number }> };
    expect(body.results.map((r) => r.index)).toEqual(truth);
    for (const p of promptsSince(chat, from)) expect(p).not.toContain(INSTRUCTION);
  });

  it("pairwise: top_n sorts only the top places, with fewer comparisons, and reads the instruction", async () => {
    let from = chat.requests.length;
    const all = await post(url, "/v1/rerank", { model: "pairwise", query: QUERY, documents: DOCS });
    expect(all.status).toBe(200);
    const comparisonsAll = chat.requests.length - from;
    from = chat.requests.length;
    const top = await post(url, "/v1/rerank", { model: "pairwise", query: QUERY, documents: DOCS, top_n: 2, instruction: INSTRUCTION });
    expect(top.status).toBe(200);
    const comparisonsTop = chat.requests.length - from;
    const body = (await top.json()) as { results: Array<{ index: number }> };
    expect(body.results.map((r) => r.index)).toEqual(truth.slice(0, 2));
    expect(comparisonsTop).toBeLessThan(comparisonsAll);
    const prompts = promptsSince(chat, from);
    expect(prompts.every((p) => p.includes(INSTRUCTION))).toBe(true);
  });

  it("TEI's route takes the instruction too", async () => {
    const from = chat.requests.length;
    const res = await post(url, "/rerank", { model: "listwise", query: QUERY, texts: DOCS, instruction: INSTRUCTION });
    expect(res.status).toBe(200);
    const ranked = (await res.json()) as Array<{ index: number }>;
    expect(ranked.map((r) => r.index)).toEqual(truth);
    expect(promptsSince(chat, from).every((p) => p.includes(INSTRUCTION))).toBe(true);
  });
});

describe("a model that does not read an instruction refuses it", () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = createServer({
      logLevel: "silent",
      models: [
        { id: "batched", reranker: new LexicalReranker() },
        { id: "plain", reranker: new SlowPlainReranker(1) },
      ],
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => app?.close());

  for (const model of ["batched", "plain"]) {
    for (const [path, docsKey] of [["/v1/rerank", "documents"], ["/v2/rerank", "documents"], ["/rerank", "texts"]]) {
      it(`${model} on ${path}: 422 naming instruction, not a silent drop`, async () => {
        const res = await post(url, path, { model, query: QUERY, [docsKey]: DOCS, instruction: INSTRUCTION });
        expect(res.status).toBe(422);
        const err = (await res.json()) as { field?: string; message?: string; error?: string };
        expect(err.field).toBe("instruction");
        expect(err.message ?? err.error).toContain("instruction");
        // Without one, the same request is served.
        expect((await post(url, path, { model, query: QUERY, [docsKey]: DOCS })).status).toBe(200);
      });
    }
  }
});
