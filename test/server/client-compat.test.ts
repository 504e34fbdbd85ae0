import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type ServerConfigInput } from "../../src/server/index.js";
import { LexicalReranker, SlowPlainReranker } from "./lexical-scorer.js";

/**
 * What real Cohere and TEI clients send that a strict reading of the API refused:
 * JSON nulls for unset optional fields, fields this server does not know, their usual
 * model names, TEI's left truncation, compressed bodies and other charsets.
 */
async function listen(config: ServerConfigInput): Promise<{ app: FastifyInstance; url: string }> {
  const app = createServer({ logLevel: "silent", port: 0, ...config });
  await app.listen({ host: "127.0.0.1", port: 0 });
  await app.winnow.models.loadAll();
  return { app, url: `http://127.0.0.1:${(app.server.address() as { port: number }).port}` };
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body) });

const DOCS = [
  "Carson City is the capital city of the American state of Nevada.",
  "Washington, D.C. is the capital of the United States. It is a federal district.",
  "Capital punishment has existed in the United States since before it was a country.",
];
const QUERY = "What is the capital of the United States?";

type CohereBody = { results: Array<{ index: number; relevance_score: number; document?: { text: string } }>; meta: { warnings: string[] } };
type TeiBody = Array<{ index: number; score: number; text?: string }>;
type ErrorBody = { message?: string; error?: string; field?: string; code?: string };

describe("what real clients send", () => {
  let server: { app: FastifyInstance; url: string };
  beforeAll(async () => {
    server = await listen({
      models: [
        { id: "lexical", reranker: new LexicalReranker(), default: true, aliases: ["rerank-english-v3.0"] },
        { id: "plain", reranker: new SlowPlainReranker(1) },
      ],
      aliases: { "rerank-v3.5": "lexical", "rerank-multilingual-v3.0": "plain" },
      limits: { bodyLimitBytes: 4_096 },
    });
  });
  afterAll(async () => server.app.close());

  describe("null in an optional field means absent", () => {
    it("on /v1/rerank, as the Cohere SDK sends them", async () => {
      const plain = (await (await post(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS })).json()) as CohereBody;
      const res = await post(`${server.url}/v1/rerank`, {
        model: null,
        query: QUERY,
        documents: DOCS,
        top_n: null,
        top_k: null,
        rank_fields: null,
        return_documents: null,
        max_chunks_per_doc: null,
        truncation: null,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as CohereBody & { data?: unknown };
      expect(body.results).toEqual(plain.results);
      expect(body.results[0].document).toBeUndefined(); // return_documents' default
      expect(body.data).toBeUndefined(); // truncation: null is not Voyage's dialect
      expect(body.meta.warnings).toEqual([]);
    });

    it("on /v2/rerank", async () => {
      const res = await post(`${server.url}/v2/rerank`, { model: "lexical", query: QUERY, documents: DOCS, top_n: null, max_tokens_per_doc: null, return_documents: null, priority: null });
      expect(res.status).toBe(200);
      expect(((await res.json()) as CohereBody).results.map((r) => r.index)).toEqual([1, 0, 2]);
    });

    it("on TEI's /rerank, truncate: null included", async () => {
      const res = await post(`${server.url}/rerank`, { query: QUERY, texts: DOCS, raw_scores: null, return_text: null, truncate: null, truncation_direction: null, model: null });
      expect(res.status).toBe(200);
      const body = (await res.json()) as TeiBody;
      expect(body.map((r) => r.index)).toEqual([1, 0, 2]);
      expect(body[0].score).toBeLessThan(1); // raw_scores' default: activations, not logits
      expect(body[0].text).toBeUndefined();
    });

    it("but not in a required field, and a known field of the wrong type is still refused", async () => {
      for (const [route, body, field] of [
        ["/v1/rerank", { query: null, documents: DOCS }, "query"],
        ["/v2/rerank", { query: QUERY, documents: null }, "documents"],
        ["/rerank", { query: QUERY, texts: null }, "texts"],
        ["/v1/rerank", { query: QUERY, documents: DOCS, top_n: "2" }, "top_n"],
        ["/v2/rerank", { query: QUERY, documents: DOCS, return_documents: "yes" }, "return_documents"],
        ["/rerank", { query: QUERY, texts: DOCS, truncate: 1 }, "truncate"],
        ["/rerank", { query: QUERY, texts: DOCS, truncation_direction: "Middle" }, "truncation_direction"],
      ] as const) {
        const res = await post(`${server.url}${route}`, body);
        expect(res.status, `${route} ${JSON.stringify(body)}`).toBe(400);
        const err = (await res.json()) as ErrorBody;
        expect(err.field).toBe(field);
        expect(err.message ?? err.error).toContain(field);
      }
    });
  });

  describe("unknown fields are ignored, and said so", () => {
    it("listed in meta.warnings and the x-winnow-ignored-fields header on Cohere routes", async () => {
      const res = await post(`${server.url}/v1/rerank`, { query: QUERY, documents: DOCS, top_n: 2, topn: 3, client_version: "7.21", constructor: 1 });
      expect(res.status).toBe(200);
      const body = (await res.json()) as CohereBody;
      expect(body.results).toHaveLength(2);
      expect(body.meta.warnings).toEqual(["topn: unknown field, ignored", "client_version: unknown field, ignored", "constructor: unknown field, ignored"]);
      expect(res.headers.get("x-winnow-ignored-fields")).toBe("topn,client_version,constructor");
      const v2 = await post(`${server.url}/v2/rerank`, { query: QUERY, documents: DOCS, new_option: { nested: [1] } });
      expect(v2.status).toBe(200);
      expect(((await v2.json()) as CohereBody).meta.warnings).toEqual(["new_option: unknown field, ignored"]);
    });

    it("in the header on TEI's route, whose answer is a bare array", async () => {
      const res = await post(`${server.url}/rerank`, { query: QUERY, texts: DOCS, inputs: "x", "odd name": 1 });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-winnow-ignored-fields")).toBe("inputs,odd%20name");
      expect(((await res.json()) as TeiBody).map((r) => r.index)).toEqual([1, 0, 2]);
    });

    it("names at most 16 of them, so the header stays readable", async () => {
      const body: Record<string, unknown> = { query: QUERY, documents: DOCS, ["k".repeat(200)]: 0 };
      for (let i = 0; i < 40; i++) body[`f${i}`] = i;
      const ok = await post(`${server.url}/v2/rerank`, body);
      expect(ok.status).toBe(200);
      const warnings = ((await ok.json()) as CohereBody).meta.warnings;
      expect(warnings).toHaveLength(17);
      expect(warnings[0]).toBe(`${"k".repeat(64)}…: unknown field, ignored`);
      expect(warnings[16]).toContain("(25 more)");
      expect(ok.headers.get("x-winnow-ignored-fields")!.split(",")).toHaveLength(17);
    });

    it("and a request without any gets no header", async () => {
      const res = await post(`${server.url}/v2/rerank`, { query: QUERY, documents: DOCS });
      expect(res.headers.get("x-winnow-ignored-fields")).toBeNull();
    });
  });

  describe("aliases", () => {
    it("reach their model by a per-model alias or a top-level one", async () => {
      for (const [name, id] of [["rerank-v3.5", "lexical"], ["rerank-english-v3.0", "lexical"], ["rerank-multilingual-v3.0", "plain"]]) {
        const res = await post(`${server.url}/v2/rerank`, { model: name, query: QUERY, documents: DOCS });
        expect(res.status, name).toBe(200);
        expect(res.headers.get("x-model-id")).toBe(id);
      }
    });

    it("are listed by /v1/models", async () => {
      const list = (await (await fetch(`${server.url}/v1/models`)).json()) as { models: Array<{ name: string; aliases: string[] }> };
      expect(list.models.find((m) => m.name === "lexical")?.aliases.sort()).toEqual(["rerank-english-v3.0", "rerank-v3.5"]);
      expect(list.models.find((m) => m.name === "plain")?.aliases).toEqual(["rerank-multilingual-v3.0"]);
    });

    it("and an unknown name gets 404 naming the served ones and how to alias it", async () => {
      const res = await post(`${server.url}/v1/rerank`, { model: "rerank-v4.0-pro", query: QUERY, documents: DOCS });
      expect(res.status).toBe(404);
      const err = (await res.json()) as ErrorBody;
      expect(err.field).toBe("model");
      expect(err.message).toContain("rerank-v3.5");
      expect(err.message).toContain("--alias rerank-v4.0-pro=lexical");
    });

    it('"*" takes every name nothing else claims', async () => {
      const any = await listen({ models: [{ id: "only", reranker: new LexicalReranker() }, { id: "second", reranker: new LexicalReranker() }], aliases: { "*": "second" } });
      try {
        const unknown = await post(`${any.url}/v2/rerank`, { model: "rerank-v3.5", query: QUERY, documents: DOCS });
        expect(unknown.status).toBe(200);
        expect(unknown.headers.get("x-model-id")).toBe("second");
        const named = await post(`${any.url}/v2/rerank`, { model: "only", query: QUERY, documents: DOCS });
        expect(named.headers.get("x-model-id")).toBe("only");
      } finally {
        await any.app.close();
      }
    });
  });

  describe("TEI truncation", () => {
    // The lexical scorer windows 16 words; its logit is the query words in a window, minus 1.
    const long = `capital united states ${"filler ".repeat(40)} nothing`;
    const tail = `nothing ${"filler ".repeat(40)} capital united states`;

    it("Right (the default) keeps the start of a long text, Left its end", async () => {
      const score = async (extra: Record<string, unknown>) => {
        const res = await post(`${server.url}/rerank`, { query: "capital united states", texts: [long, tail], raw_scores: true, truncate: true, ...extra });
        expect(res.status).toBe(200);
        const body = (await res.json()) as TeiBody;
        return [body.find((r) => r.index === 0)!.score, body.find((r) => r.index === 1)!.score];
      };
      expect(await score({})).toEqual([2, -1]);
      expect(await score({ truncation_direction: "Right" })).toEqual([2, -1]);
      expect(await score({ truncation_direction: "Left" })).toEqual([-1, 2]);
      expect(await score({ truncation_direction: "left" })).toEqual([-1, 2]);
    });

    it("keeps Left and Right apart in the score cache", async () => {
      const cached = await listen({ models: [{ id: "c", reranker: new LexicalReranker(), cache: true }] });
      try {
        const score = async (direction: string) => {
          const res = await post(`${cached.url}/rerank`, { query: "capital united states", texts: [long, tail], raw_scores: true, truncate: true, truncation_direction: direction });
          return ((await res.json()) as TeiBody).map((r) => [r.index, r.score]);
        };
        expect(await score("Right")).toEqual([[0, 2], [1, -1]]);
        expect(await score("Left")).toEqual([[1, 2], [0, -1]]);
      } finally {
        await cached.app.close();
      }
    });

    it("is refused, not ignored, for a model that does not truncate texts itself", async () => {
      const res = await post(`${server.url}/rerank`, { model: "plain", query: QUERY, texts: DOCS, truncation_direction: "Left" });
      expect(res.status).toBe(422);
      const err = (await res.json()) as ErrorBody;
      expect(err.field).toBe("truncation_direction");
      expect(err.error).toContain("plain");
    });
  });

  describe("a query of only control characters is blank", () => {
    for (const [route, docsKey] of [["/v1/rerank", "documents"], ["/v2/rerank", "documents"], ["/rerank", "texts"]]) {
      for (const query of ["\u0000", "\u0007\t", "\u200b \ufeff", " \r\n"]) {
        it(`${route} refuses ${JSON.stringify(query)} with 400 naming query`, async () => {
          const res = await post(`${server.url}${route}`, { query, [docsKey]: DOCS });
          expect(res.status).toBe(400);
          const err = (await res.json()) as ErrorBody;
          expect(err.field).toBe("query");
          expect(err.message ?? err.error).toMatch(/query: must not be blank/);
        });
      }
    }
  });

  describe("body encodings", () => {
    const json = JSON.stringify({ query: QUERY, documents: DOCS, return_documents: true });
    const expectRanked = async (res: Response) => {
      expect(res.status).toBe(200);
      expect(((await res.json()) as CohereBody).results.map((r) => r.index)).toEqual([1, 0, 2]);
    };

    it("decodes gzip, deflate (zlib or raw) and br bodies", async () => {
      for (const [encoding, body] of [
        ["gzip", gzipSync(json)],
        ["x-gzip", gzipSync(json)],
        ["deflate", deflateSync(json)],
        ["deflate", deflateRawSync(json)],
        ["br", brotliCompressSync(json)],
        ["GZIP, identity", gzipSync(json)],
        ["gzip, br", brotliCompressSync(gzipSync(json))],
      ] as const) {
        await expectRanked(await post(`${server.url}/v2/rerank`, new Uint8Array(body), { "content-encoding": encoding }));
      }
    });

    it("answers 413 to a body that inflates past the body limit (a gzip bomb), 400 to one that is not gzip", async () => {
      // 1 MB of spaces inside the JSON compresses to ~1 KB, under the 4 KiB limit on the wire.
      const bomb = gzipSync(`{"query": "q", "documents": ["a"]${" ".repeat(1_000_000)}}`);
      expect(bomb.length).toBeLessThan(4_096);
      const big = await post(`${server.url}/v2/rerank`, new Uint8Array(bomb), { "content-encoding": "gzip" });
      expect(big.status).toBe(413);
      expect((await big.json()) as ErrorBody).toMatchObject({ field: "body", limit: 4_096, code: "PAYLOAD_TOO_LARGE" });
      const notGzip = await post(`${server.url}/v2/rerank`, json, { "content-encoding": "gzip" });
      expect(notGzip.status).toBe(400);
      expect(((await notGzip.json()) as ErrorBody).message).toMatch(/body: not valid gzip data/);
      const truncated = await post(`${server.url}/rerank`, new Uint8Array(gzipSync(json).subarray(0, 30)), { "content-encoding": "gzip" });
      expect(truncated.status).toBe(400);
      expect(((await truncated.json()) as ErrorBody).error).toMatch(/not valid gzip/);
    });

    it("answers 415 naming content-encoding for an encoding it does not know", async () => {
      const res = await post(`${server.url}/v2/rerank`, json, { "content-encoding": "zstd" });
      expect(res.status).toBe(415);
      const err = (await res.json()) as ErrorBody;
      expect(err.field).toBe("content-encoding");
      expect(err.message).toContain("zstd");
    });

    it("decodes ISO-8859-1 and UTF-16 bodies as their charset says, not as UTF-8", async () => {
      const text = JSON.stringify({ query: "café", documents: ["un café à Paris", "tea"], return_documents: true });
      for (const [charset, body] of [
        ["iso-8859-1", Buffer.from(text, "latin1")],
        ["latin1", Buffer.from(text, "latin1")],
        ['"ISO-8859-1"', Buffer.from(text, "latin1")],
        ["utf-16le", Buffer.from(text, "utf16le")],
        ["utf-16be", Buffer.from(text, "utf16le").swap16()],
        ["utf-16", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")])],
        ["utf-8", Buffer.from(text, "utf8")],
      ] as const) {
        const res = await post(`${server.url}/v1/rerank`, new Uint8Array(body), { "content-type": `application/json; charset=${charset}` });
        expect(res.status, charset).toBe(200);
        const got = (await res.json()) as CohereBody;
        expect(got.results[0].document?.text, charset).toBe("un café à Paris");
      }
      // The same latin-1 bytes sent as UTF-8 are refused rather than reranked as U+FFFD.
      const mislabelled = await post(`${server.url}/v1/rerank`, new Uint8Array(Buffer.from(text, "latin1")));
      expect(mislabelled.status).toBe(400);
      expect(((await mislabelled.json()) as ErrorBody).message).toBe("body: not valid UTF-8");
    });

    it("answers 415 naming the charset it cannot decode, and 400 to bytes not in the named one", async () => {
      const res = await post(`${server.url}/v2/rerank`, json, { "content-type": "application/json; charset=shift_jis" });
      expect(res.status).toBe(415);
      const err = (await res.json()) as ErrorBody;
      expect(err.field).toBe("content-type");
      expect(err.message).toContain("shift_jis");
      const ascii = await post(`${server.url}/v2/rerank`, new Uint8Array(Buffer.from(JSON.stringify({ query: "café", documents: ["a"] }), "latin1")), {
        "content-type": "application/json; charset=us-ascii",
      });
      expect(ascii.status).toBe(400);
      expect(((await ascii.json()) as ErrorBody).message).toMatch(/not US-ASCII/);
      const odd = await post(`${server.url}/v2/rerank`, new Uint8Array(Buffer.from("{} ", "latin1")), { "content-type": "application/json; charset=utf-16le" });
      expect(odd.status).toBe(400);
    });
  });
});
