import type { FastifyInstance } from "fastify";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "../../src/server/index.js";
import { LexicalReranker } from "./lexical-scorer.js";
import { seededRandom as rng } from "../../src/core/seeded-random.js";


function rawPost(url: string, path: string, body: Buffer): Promise<{ status: number; text: string; type: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path, method: "POST", headers: { "content-type": "application/json", "content-length": body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), type: String(res.headers["content-type"]) }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

/** Bodies every rerank route must refuse with a 4xx JSON error. */
function malformedBodies(random: () => number, route: string): Array<[string, Buffer]> {
  const tei = route === "/rerank";
  const docsKey = tei ? "texts" : "documents";
  const req = (extra: Record<string, unknown>, docs: unknown = ["a"]) => ({ query: "q", [docsKey]: docs, ...extra });
  const j = (x: unknown) => Buffer.from(JSON.stringify(x));
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  // null is valid in an optional field (it means absent), so only required ones get it.
  const wrongValues: unknown[] = [0, -1, 1.5, true, "", [], {}, [null], [1, 2], { a: { b: {} } }, "x".repeat(2_000)];
  const fixed: Array<[string, Buffer]> = [
    ["empty body", Buffer.alloc(0)],
    ["truncated JSON", Buffer.from('{"query": "q", "documents": ["a"')],
    ["trailing garbage", Buffer.from('{"query": "q", "documents": ["a"]} xyz')],
    ["a JSON string", j("just a string")],
    ["a JSON array", j(["q", "a"])],
    ["null", Buffer.from("null")],
    ["invalid UTF-8", Buffer.concat([Buffer.from('{"query": "q'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(`", "${docsKey}": ["a"]}`)])],
    ["deeply nested documents", Buffer.from(`{"query": "q", "${docsKey}": ${nested(5_000)}}`)],
    ["10,001 documents", j(req({}, new Array(10_001).fill("d")))],
    ["huge query", j(req({ query: "q".repeat(200_000) }))],
    ["huge document", j(req({}, ["d".repeat(200_000)]))],
    ["__proto__ key", Buffer.from(`{"query": "q", "${docsKey}": ["a"], "__proto__": {"x": 1}}`)],
    ["missing documents", j({ query: "q" })],
    ["empty documents", j(req({}, []))],
    ["a query of control characters", j(req({ query: "\u0000\u0007" }))],
    ...(tei
      ? ([["unknown truncation direction", j(req({ truncation_direction: "Middle" }))]] as Array<[string, Buffer]>)
      : ([
          ["negative top_n", j(req({ top_n: -5 }))],
          ["huge top_n", j(req({ top_n: 2 ** 53 }))],
          ["fractional top_n", j(req({ top_n: 1.5 }))],
        ] as Array<[string, Buffer]>)),
  ];
  const generated: Array<[string, Buffer]> = [];
  for (let i = 0; i < 60; i++) {
    const body: Record<string, unknown> = req({ query: "what is winnow" }, ["a", "b"]);
    // Each route's own fields: another route's field is an unknown one here, and ignored.
    const fields = {
      "/rerank": ["query", "texts", "model", "raw_scores", "truncate", "return_text"],
      "/v1/rerank": ["query", "documents", "top_n", "return_documents", "model", "max_chunks_per_doc", "rank_fields"],
      "/v2/rerank": ["query", "documents", "top_n", "return_documents", "model", "max_tokens_per_doc"],
    }[route]!;
    const field = pick(fields);
    let value = pick(wrongValues);
    // Some values are valid for some fields; nudge those into invalid ones.
    if (field === "documents" || field === "texts") value = pick([null, "a", 5, [null], [5], [[]], {}, []]);
    if (field === "query") value = pick([null, 5, "", [], {}, "   "]);
    if (field === "model") value = pick([5, "nope", [], {}]);
    if (field === "rank_fields") value = pick(["text", [5], [{}]]);
    if (["top_n", "max_chunks_per_doc", "max_tokens_per_doc"].includes(field)) value = pick([0, -1, 1.5, "3", true, 1e12]);
    if (["return_documents", "raw_scores", "truncate", "return_text"].includes(field)) value = pick([0, "yes", [], {}]);
    body[field] = value;
    generated.push([`${field}=${JSON.stringify(value)?.slice(0, 40)}`, j(body)]);
  }
  return [...fixed, ...generated];
}

describe("fuzzed requests", () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = createServer({ logLevel: "silent", models: [{ id: "m", reranker: new LexicalReranker() }] });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => app.close());

  it("answers every malformed request with a 4xx JSON error and keeps serving", async () => {
    const random = rng(20_261_122);
    for (const route of ["/v1/rerank", "/v2/rerank", "/rerank"]) {
      let checked = 0;
      for (const [what, body] of malformedBodies(random, route)) {
        checked++;
        const res = await rawPost(url, route, body);
        expect(res.status, `${route} ${what}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${route} ${what}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
        expect(res.type, `${route} ${what}`).toContain("application/json");
        const err = JSON.parse(res.text) as Record<string, unknown>;
        expect(typeof (err.message ?? err.error), `${route} ${what}`).toBe("string");
      }
      expect(checked).toBeGreaterThan(70);
    }
    const ok = await rawPost(url, "/v1/rerank", Buffer.from(JSON.stringify({ query: "a", documents: ["a", "b"] })));
    expect(ok.status).toBe(200);
    // Unknown fields are ignored however deep they go (the JSON parser has no depth limit to hit at 5,000).
    for (const [route, docsKey] of [["/v1/rerank", "documents"], ["/rerank", "texts"]]) {
      const deep = await rawPost(url, route, Buffer.from(`{"query": "q", "${docsKey}": ["a"], "x": ${nested(5_000)}}`));
      expect(deep.status, route).toBe(200);
    }
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});
