import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEmbedder } from "../../../src/retrieval/dense/create-embedder.js";
import { DenseRetriever } from "../../../src/retrieval/dense/dense-retriever.js";
import { OnnxEmbedder } from "../../../src/retrieval/dense/onnx-embedder.js";
import { OpenAIEmbedder } from "../../../src/retrieval/dense/openai-embedder.js";
import { ExactVectorIndex } from "../../../src/retrieval/vector/exact-vector-index.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";

/** A local OpenAI-compatible /embeddings: vector = [length, count of "a"], returned in reverse order. */
let server: Server;
let baseUrl: string;
const requests: Array<{ auth?: string; body: { model: string; input: string[] } }> = [];
let failNext = 0;

async function body(req: IncomingMessage): Promise<string> {
  let s = "";
  for await (const c of req) s += String(c);
  return s;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const parsed = JSON.parse(await body(req)) as { model: string; input: string[] };
    requests.push({ auth: req.headers.authorization, body: parsed });
    if (failNext > 0) {
      failNext--;
      res.writeHead(500, { "content-type": "application/json" }).end('{"error":"boom"}');
      return;
    }
    const data = parsed.input.map((t, index) => ({ index, embedding: [t.length, [...t].filter((c) => c === "a").length] })).reverse();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("OpenAIEmbedder", () => {
  it("batches, applies prefixes, puts out-of-order items back in place and normalizes", async () => {
    requests.length = 0;
    const e = new OpenAIEmbedder({ baseUrl, model: "m", apiKey: "sk-test", batchSize: 2, queryPrefix: "q: ", normalize: false });
    const v = await e.embed(["a", "bb", "aaa"], "document");
    expect(v.map((x) => Array.from(x))).toEqual([[1, 1], [2, 0], [3, 3]]);
    expect(requests.map((r) => r.body.input)).toEqual([["a", "bb"], ["aaa"]]);
    expect(requests[0]).toMatchObject({ auth: "Bearer sk-test", body: { model: "m" } });
    const [q] = await new OpenAIEmbedder({ baseUrl, model: "m", queryPrefix: "q: " }).embed(["a"], "query");
    expect(requests.at(-1)?.body.input).toEqual(["q: a"]);
    expect(Math.hypot(...q)).toBeCloseTo(1, 6);
    expect(e.spec).not.toHaveProperty("apiKey");
  });

  it("turns upstream failures into typed errors naming the URL and status", async () => {
    failNext = 1;
    await expect(new OpenAIEmbedder({ baseUrl, model: "m" }).embed(["x"], "query")).rejects.toMatchObject({ code: "UPSTREAM_ERROR", message: expect.stringMatching(/HTTP 500/) });
    await expect(createEmbedder({ type: "openai", baseUrl: "ftp://x", model: "m" })).rejects.toThrow(/embedder\.baseUrl must be an http\(s\) URL/);
    await expect(createEmbedder({ type: "word2vec" } as never)).rejects.toThrow(/embedder\.type must be "onnx" or "openai"/);
  });
});

describe("OnnxEmbedder (generated tiny bi-encoder)", () => {
  it("embeds deterministically with mean pooling, unit length, batching-invariant, prefix-aware", async () => {
    const dir = await ensureGeneratedModel("tiny-bi-encoder");
    const e = await OnnxEmbedder.load({ model: dir, batchSize: 2, threads: 1, queryPrefix: "query: " });
    try {
      const texts = ["aspirin and heart attacks", "a much longer document about statins and cholesterol levels in adults", "short"];
      const all = await e.embed(texts, "document");
      expect(all).toHaveLength(3);
      expect(all[0].length).toBe(128);
      for (const v of all) expect(Math.hypot(...v)).toBeCloseTo(1, 5);
      // padding in a batch must not change a text's vector
      const alone = await e.embed([texts[2]], "document");
      for (let j = 0; j < 128; j++) expect(alone[0][j]).toBeCloseTo(all[2][j], 4);
      const asQuery = await e.embed([texts[0]], "query");
      expect(Array.from(asQuery[0])).not.toEqual(Array.from(all[0]));
      const cls = await OnnxEmbedder.load({ model: dir, pooling: "cls", threads: 1 });
      expect(Array.from((await cls.embed([texts[0]], "document"))[0])).not.toEqual(Array.from(all[0]));
      await cls.close();
    } finally {
      await e.close();
    }
  });
});

describe("DenseRetriever", () => {
  it("returns the nearest documents with dense scores and applies filters inside the search", async () => {
    const docs = [
      { id: "x", text: "aaaa", metadata: { lang: "en" } },
      { id: "y", text: "bbbb", metadata: { lang: "de" } },
      { id: "z", text: "aab", metadata: { lang: "de" } },
    ];
    const embedder = new OpenAIEmbedder({ baseUrl, model: "m" });
    const vectors = await embedder.embed(docs.map((d) => d.text), "document");
    const index = ExactVectorIndex.build(docs.map((d, i) => ({ id: d.id, vector: vectors[i] })));
    const byId = new Map(docs.map((d) => [d.id, d]));
    const r = new DenseRetriever({ embedder, index, document: (id) => byId.get(id) });
    const hits = await r.search("aaa", 3);
    expect(hits.map((h) => h.document.id)).toEqual(["x", "z", "y"]);
    expect(hits[0].scores?.dense).toBeCloseTo(1, 6);
    const de = await r.search("aaa", 3, { filter: { lang: "de" } });
    expect(de.map((h) => h.document.id)).toEqual(["z", "y"]);
    // repeated query: served from the query-vector cache, no new request
    const before = requests.length;
    await r.search("aaa", 1);
    expect(requests.length).toBe(before);
  });
});
