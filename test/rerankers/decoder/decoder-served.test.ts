import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../../src/server/index.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { DecoderReranker } from "../../../src/rerankers/decoder/decoder-reranker.js";

const QUERY = "what causes scurvy";
const DOCS = ["Scurvy results from a lack of vitamin C.", "Bananas are yellow.", "Sailors carried lemons to prevent scurvy."];
const INSTRUCTION = "Prefer passages about fruit";

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("a decoder reranker served from a cross-encoder spec", () => {
  let app: FastifyInstance;
  let url: string;
  let qwenDir: string;
  beforeAll(async () => {
    qwenDir = await ensureGeneratedModel("tiny-qwen3");
    const bertDir = await ensureGeneratedModel("tiny-bert");
    app = createServer({
      logLevel: "silent",
      models: [
        { id: "qwen", reranker: { type: "cross-encoder", model: qwenDir } },
        { id: "bert", reranker: { type: "cross-encoder", model: bertDir } },
      ],
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  }, 120_000);
  afterAll(async () => app?.close());

  it("reads the request's instruction: served scores equal the library's with the same instruction", async () => {
    const direct = await DecoderReranker.load({ model: qwenDir });
    try {
      const expected = new Map((await direct.rerank(QUERY, DOCS, { instruction: INSTRUCTION })).map((r) => [r.index, r.score]));
      const without = new Map((await direct.rerank(QUERY, DOCS)).map((r) => [r.index, r.score]));
      const res = await post(url, "/v2/rerank", { model: "qwen", query: QUERY, documents: DOCS, instruction: INSTRUCTION });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { results: Array<{ index: number; relevance_score: number }> };
      expect(body.results).toHaveLength(DOCS.length);
      for (const r of body.results) {
        expect(Math.abs(r.relevance_score - expected.get(r.index)!)).toBeLessThan(1e-6);
        expect(Math.abs(r.relevance_score - without.get(r.index)!)).toBeGreaterThan(1e-6);
      }
    } finally {
      await direct.close();
    }
  });

  it("a BERT cross-encoder on the same server answers 422 naming instruction", async () => {
    const res = await post(url, "/v2/rerank", { model: "bert", query: QUERY, documents: DOCS, instruction: INSTRUCTION });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { field?: string }).field).toBe("instruction");
  });
});
