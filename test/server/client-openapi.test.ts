import AjvModule from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCS, QUERY, startServedFixture, type ServedFixture } from "./client-served-model.js";

/**
 * The OpenAPI document (GET /docs/json, what code generators and gateways read) describes
 * every route with an operationId and every response and error body: real responses
 * from a running `winnow serve`, successes and refusals, are validated against it.
 */
interface Operation {
  operationId?: string;
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}
type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>> };

describe("the OpenAPI document matches what the server answers", () => {
  let f: ServedFixture;
  let doc: OpenApi;
  const operations = new Map<string, Operation>();
  // ajv is CommonJS: its class is the default export's `default`.
  const Ajv = (AjvModule as unknown as { default: typeof AjvModule }).default ?? AjvModule;
  const ajv = new (Ajv as unknown as new (o: object) => import("ajv").default)({ strict: false, allErrors: true });
  beforeAll(async () => {
    f = await startServedFixture();
    const res = await fetch(`${f.server.url}/docs/json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApi;
    for (const methods of Object.values(doc.paths)) for (const op of Object.values(methods)) if (op.operationId) operations.set(op.operationId, op);
  });
  afterAll(async () => f?.close());

  it("every operation has an operationId and documents its responses", () => {
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!op.operationId) missing.push(`${method} ${path}: no operationId`);
        else if (op.operationId !== "metrics" && !op.responses?.["200"]?.content?.["application/json"]?.schema) missing.push(`${op.operationId}: no 200 body schema`);
      }
    }
    expect(missing).toEqual([]);
    expect([...operations.keys()].sort()).toEqual(expect.arrayContaining(["getModel", "health", "listModels", "ready", "rerankCohereV1", "rerankCohereV2", "rerankTei", "teiInfo", "teiTokenize"]));
  });

  const cases: Array<{ operationId: string; method: "GET" | "POST"; path: string; body?: unknown; status: number }> = [
    { operationId: "rerankCohereV1", method: "POST", path: "/v1/rerank", body: { query: QUERY, documents: DOCS.map((text, i) => (i % 2 ? text : { text, title: "t" })), top_n: 3, return_documents: true }, status: 200 },
    { operationId: "rerankCohereV1", method: "POST", path: "/v1/rerank", body: { query: QUERY, documents: DOCS, top_k: 2, return_documents: true }, status: 200 },
    { operationId: "rerankCohereV1", method: "POST", path: "/v1/rerank", body: { query: QUERY, documents: [] }, status: 400 },
    { operationId: "rerankCohereV2", method: "POST", path: "/v2/rerank", body: { query: QUERY, documents: DOCS, return_documents: true, model: "rerank-v3.5" }, status: 200 },
    { operationId: "rerankCohereV2", method: "POST", path: "/v2/rerank", body: { query: QUERY, documents: DOCS, model: "no-such-model" }, status: 404 },
    { operationId: "rerankTei", method: "POST", path: "/rerank", body: { query: QUERY, texts: DOCS, return_text: true }, status: 200 },
    { operationId: "rerankTei", method: "POST", path: "/rerank", body: { query: QUERY, documents: DOCS, return_documents: true }, status: 200 },
    { operationId: "rerankTei", method: "POST", path: "/rerank", body: { query: QUERY, texts: "not a list" }, status: 400 },
    { operationId: "teiInfo", method: "GET", path: "/info", status: 200 },
    { operationId: "teiTokenize", method: "POST", path: "/tokenize", body: { inputs: ["a b", "c"] }, status: 200 },
    { operationId: "teiTokenize", method: "POST", path: "/tokenize", body: { inputs: 3 }, status: 400 },
    { operationId: "health", method: "GET", path: "/health", status: 200 },
    { operationId: "ready", method: "GET", path: "/ready", status: 200 },
    { operationId: "listModels", method: "GET", path: "/v1/models", status: 200 },
    { operationId: "getModel", method: "GET", path: "/v1/models/rerank-v3.5", status: 200 },
    { operationId: "getModel", method: "GET", path: "/v1/models/missing", status: 404 },
  ];

  it.each(cases)("$operationId: $method $path answers $status with a body its schema accepts", async ({ operationId, method, path, body, status }) => {
    const res = await fetch(`${f.server.url}${path}`, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect(res.status).toBe(status);
    const json: unknown = await res.json();
    const responses = operations.get(operationId)?.responses ?? {};
    const documented = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
    const schema = documented?.content?.["application/json"]?.schema;
    expect(schema, `${operationId} documents no ${status} body`).toBeDefined();
    const validate = ajv.compile(schema!);
    expect(validate(json) ? [] : validate.errors, JSON.stringify(json).slice(0, 300)).toEqual([]);
  });

  it("the schemas can fail: a TEI array is not a Cohere v2 body, a Cohere error is not a TEI error", () => {
    const v2 = ajv.compile(operations.get("rerankCohereV2")!.responses!["200"].content!["application/json"].schema!);
    expect(v2([{ index: 0, score: 1 }])).toBe(false);
    const teiError = ajv.compile(operations.get("rerankTei")!.responses!["4XX"].content!["application/json"].schema!);
    expect(teiError({ message: "x", code: "INVALID_INPUT" })).toBe(false);
  });
});
