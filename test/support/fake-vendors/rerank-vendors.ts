import { fakeRelevance, startHarness, type Behaviour, type HarnessServer, type JsonAnswer, type RecordedRequest } from "./http-harness.js";

/**
 * Local stand-ins for the hosted rerank APIs, speaking each protocol as published:
 * the path, the auth header, the request field names and types (a wrong or missing
 * field gets that vendor's own kind of 400/422), the per-call document limit, and the
 * response layout (results/data/bare array, relevance_score/score, usage).
 * Scores are word overlap (fakeRelevance), so tests can predict the order.
 */
export type FakeVendor = "cohere" | "cohere-v1" | "jina" | "voyage" | "mixedbread" | "tei" | "infinity" | "vllm" | "vllm-score" | "llama-cpp";

interface VendorProtocol {
  path: string;
  needsKey: boolean;
  /** Default `query` (vLLM's score API: `text_1`). */
  queryField?: string;
  documentsField: string;
  topNField?: string;
  /** Fields the request may carry, with a type check each; required ones listed separately. */
  allowed: Record<string, (v: unknown) => boolean>;
  required: string[];
  maxDocuments: number;
  /** The vendor's validation error. */
  invalid(field: string, problem: string): JsonAnswer;
  unauthorized(): JsonAnswer;
  respond(query: string, docs: string[], ranked: Array<{ index: number; score: number }>, req: Record<string, unknown>): unknown;
}

const isStr = (v: unknown) => typeof v === "string";
const isStrArr = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
const isDocArr = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string" || (typeof x === "object" && x !== null && typeof (x as { text?: unknown }).text === "string"));
const isPosInt = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v > 0;
const isBool = (v: unknown) => typeof v === "boolean";
const docText = (d: unknown) => (typeof d === "string" ? d : String((d as { text: string }).text));
const tokens = (q: string, docs: string[]) => docs.reduce((n, d) => n + d.split(/\s+/).length, 0) + q.split(/\s+/).length * docs.length;

// FastAPI / pydantic style 422 (Jina, Mixedbread, Infinity).
const fastApi422 = (field: string, problem: string): JsonAnswer => ({
  status: 422,
  body: { detail: [{ loc: ["body", field], msg: problem, type: "value_error" }] },
});

const PROTOCOLS: Record<FakeVendor, VendorProtocol> = {
  cohere: {
    path: "/v2/rerank",
    needsKey: true,
    documentsField: "documents",
    topNField: "top_n",
    allowed: { model: isStr, query: isStr, documents: isStrArr, top_n: isPosInt, max_tokens_per_doc: isPosInt, priority: (v) => typeof v === "number" },
    required: ["model", "query", "documents"],
    maxDocuments: 1000,
    invalid: (field, problem) => ({ status: 400, body: { id: "fake", message: `invalid request: ${field} ${problem}` } }),
    unauthorized: () => ({ status: 401, body: { id: "fake", message: "invalid api token" } }),
    respond: (_q, docs, ranked) => ({
      id: "fake-rerank-id",
      results: ranked.map((r) => ({ index: r.index, relevance_score: r.score })),
      meta: { api_version: { version: "2" }, billed_units: { search_units: Math.ceil(docs.length / 100) } },
    }),
  },
  "cohere-v1": {
    path: "/v1/rerank",
    needsKey: true,
    documentsField: "documents",
    topNField: "top_n",
    allowed: { model: isStr, query: isStr, documents: isDocArr, top_n: isPosInt, return_documents: isBool, max_chunks_per_doc: isPosInt, rank_fields: isStrArr },
    required: ["query", "documents"],
    maxDocuments: 1000,
    invalid: (field, problem) => ({ status: 400, body: { message: `invalid request: ${field} ${problem}` } }),
    unauthorized: () => ({ status: 401, body: { message: "invalid api token" } }),
    respond: (_q, docs, ranked, req) => ({
      id: "fake-rerank-id",
      results: ranked.map((r) => ({ index: r.index, relevance_score: r.score, ...(req.return_documents ? { document: { text: docs[r.index] } } : {}) })),
      meta: { api_version: { version: "1" }, billed_units: { search_units: Math.ceil(docs.length / 100) } },
    }),
  },
  jina: {
    path: "/v1/rerank",
    needsKey: true,
    documentsField: "documents",
    topNField: "top_n",
    allowed: { model: isStr, query: isStr, documents: isDocArr, top_n: isPosInt, return_documents: isBool },
    required: ["model", "query", "documents"],
    maxDocuments: 1024,
    invalid: fastApi422,
    unauthorized: () => ({ status: 401, body: { detail: "Unauthorized: invalid API key" } }),
    respond: (q, docs, ranked, req) => ({
      model: req.model,
      usage: { total_tokens: tokens(q, docs) },
      results: ranked.map((r) => ({ index: r.index, relevance_score: r.score, ...(req.return_documents === false ? {} : { document: { text: docs[r.index] } }) })),
    }),
  },
  voyage: {
    path: "/v1/rerank",
    needsKey: true,
    documentsField: "documents",
    topNField: "top_k",
    allowed: { model: isStr, query: isStr, documents: isStrArr, top_k: isPosInt, return_documents: isBool, truncation: isBool },
    required: ["model", "query", "documents"],
    maxDocuments: 1000,
    invalid: (field, problem) => ({ status: 400, body: { detail: `Request body is invalid: ${field} ${problem}` } }),
    unauthorized: () => ({ status: 401, body: { detail: "Provided API key is invalid." } }),
    respond: (q, docs, ranked, req) => ({
      object: "list",
      data: ranked.map((r) => ({ index: r.index, relevance_score: r.score, ...(req.return_documents ? { document: docs[r.index] } : {}) })),
      model: req.model,
      usage: { total_tokens: tokens(q, docs) },
    }),
  },
  mixedbread: {
    path: "/v1/reranking",
    needsKey: true,
    documentsField: "input",
    topNField: "top_k",
    allowed: { model: isStr, query: isStr, input: isDocArr, top_k: isPosInt, return_input: isBool, rank_fields: isStrArr },
    required: ["model", "query", "input"],
    maxDocuments: 1000,
    invalid: fastApi422,
    unauthorized: () => ({ status: 401, body: { detail: "Invalid API key" } }),
    respond: (q, docs, ranked, req) => ({
      model: req.model,
      object: "list",
      data: ranked.map((r) => ({ index: r.index, score: r.score, object: "rank_result", ...(req.return_input ? { input: docs[r.index] } : {}) })),
      top_k: req.top_k ?? docs.length,
      return_input: req.return_input ?? false,
      usage: { prompt_tokens: tokens(q, docs), total_tokens: tokens(q, docs) },
    }),
  },
  tei: {
    path: "/rerank",
    needsKey: false,
    documentsField: "texts",
    allowed: { query: isStr, texts: isStrArr, raw_scores: isBool, return_text: isBool, truncate: isBool, truncation_direction: isStr },
    required: ["query", "texts"],
    maxDocuments: 32,
    // axum's JSON rejection: 422 with a plain-text reason.
    invalid: (field, problem) => ({ status: 422, body: undefined, text: `Failed to deserialize the JSON body into the target type: ${field}: ${problem}` }),
    unauthorized: () => ({ status: 401, body: { error: "Unauthorized", error_type: "unauthorized" } }),
    respond: (_q, docs, ranked, req) => ranked.map((r) => ({ index: r.index, score: r.score, ...(req.return_text ? { text: docs[r.index] } : {}) })),
  },
  infinity: {
    path: "/rerank",
    needsKey: false,
    documentsField: "documents",
    topNField: "top_n",
    allowed: { model: isStr, query: isStr, documents: isStrArr, top_n: isPosInt, return_documents: isBool, raw_scores: isBool },
    required: ["query", "documents"],
    maxDocuments: 1024,
    invalid: fastApi422,
    unauthorized: () => ({ status: 401, body: { detail: "Not authenticated" } }),
    respond: (q, docs, ranked, req) => ({
      object: "rerank",
      results: ranked.map((r) => ({ relevance_score: r.score, index: r.index, document: req.return_documents ? docs[r.index] : null })),
      model: req.model ?? "default",
      usage: { prompt_tokens: tokens(q, docs), total_tokens: tokens(q, docs) },
      id: "infinity-fake",
      created: 0,
    }),
  },
  // vLLM's rerank API (pydantic: 400 with an OpenAI-style error object).
  vllm: {
    path: "/v1/rerank",
    needsKey: false,
    documentsField: "documents",
    topNField: "top_n",
    allowed: { model: isStr, query: isStr, documents: isStrArr, top_n: (v) => typeof v === "number" && Number.isInteger(v) && v >= 0, truncate_prompt_tokens: isPosInt },
    required: ["query", "documents"],
    maxDocuments: 100_000,
    invalid: (field, problem) => ({ status: 400, body: { object: "error", message: `${field}: ${problem}`, type: "BadRequestError", param: null, code: 400 } }),
    unauthorized: () => ({ status: 401, body: { error: "Unauthorized" } }),
    respond: (q, docs, ranked, req) => ({
      id: "rerank-fake",
      model: req.model ?? "BAAI/bge-reranker-base",
      usage: { total_tokens: tokens(q, docs) },
      results: ranked.map((r) => ({ index: r.index, document: { text: docs[r.index] }, relevance_score: r.score })),
    }),
  },
  // vLLM's score API: scores in input order (never sorted), one per text_2 item.
  "vllm-score": {
    path: "/score",
    needsKey: false,
    queryField: "text_1",
    documentsField: "text_2",
    allowed: { model: isStr, text_1: isStr, text_2: isStrArr, truncate_prompt_tokens: isPosInt },
    required: ["text_1", "text_2"],
    maxDocuments: 100_000,
    invalid: (field, problem) => ({ status: 400, body: { object: "error", message: `${field}: ${problem}`, type: "BadRequestError", param: null, code: 400 } }),
    unauthorized: () => ({ status: 401, body: { error: "Unauthorized" } }),
    respond: (q, docs, ranked, req) => ({
      id: "score-fake",
      object: "list",
      created: 0,
      model: req.model ?? "BAAI/bge-reranker-base",
      data: [...ranked].sort((a, b) => a.index - b.index).map((r) => ({ index: r.index, object: "score", score: r.score })),
      usage: { prompt_tokens: tokens(q, docs), total_tokens: tokens(q, docs), completion_tokens: 0 },
    }),
  },
  // llama.cpp's server with --reranking.
  "llama-cpp": {
    path: "/v1/rerank",
    needsKey: false,
    documentsField: "documents",
    topNField: "top_n",
    allowed: { model: isStr, query: isStr, documents: isStrArr, top_n: isPosInt },
    required: ["query", "documents"],
    maxDocuments: 100_000,
    invalid: (field, problem) => ({ status: 400, body: { error: { code: 400, message: `${field}: ${problem}`, type: "invalid_request_error" } } }),
    unauthorized: () => ({ status: 401, body: { error: { code: 401, message: "Invalid API Key", type: "authentication_error" } } }),
    respond: (q, docs, ranked, req) => ({
      model: req.model ?? "bge-reranker-v2-m3",
      object: "list",
      usage: { prompt_tokens: tokens(q, docs), total_tokens: tokens(q, docs) },
      results: ranked.map((r) => ({ index: r.index, relevance_score: r.score })),
    }),
  },
};

export interface FakeVendorOptions {
  /** Key the server accepts (Bearer). Required for hosted vendors; optional for TEI/Infinity. */
  apiKey?: string;
  script?: Behaviour[];
  /** Override the vendor's per-call document limit (to exercise splitting with few documents). */
  maxDocuments?: number;
}

export function answerVendorRequest(vendor: FakeVendor, req: RecordedRequest, options: FakeVendorOptions): JsonAnswer {
  const p = PROTOCOLS[vendor];
  if (req.method !== "POST" || req.path !== p.path) return { status: 404, body: { message: `no route ${req.method} ${req.path}` } };
  const auth = req.headers.authorization;
  if ((p.needsKey || options.apiKey) && auth !== `Bearer ${options.apiKey}`) return p.unauthorized();
  const body = req.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) return p.invalid("body", "must be a JSON object");
  const b = body as Record<string, unknown>;
  for (const f of p.required) if (!(f in b)) return p.invalid(f, "field required");
  for (const [k, v] of Object.entries(b)) {
    const check = p.allowed[k];
    if (!check) return p.invalid(k, "unknown field");
    if (!check(v)) return p.invalid(k, "has the wrong type");
  }
  const docs = (b[p.documentsField] as unknown[]).map(docText);
  const limit = options.maxDocuments ?? p.maxDocuments;
  if (docs.length === 0) return p.invalid(p.documentsField, "must not be empty");
  if (docs.length > limit) return p.invalid(p.documentsField, `has ${docs.length} items, more than the limit of ${limit}`);
  const query = String(b[p.queryField ?? "query"]);
  const ranked = docs.map((d, index) => ({ index, score: fakeRelevance(query, d) })).sort((x, y) => y.score - x.score || x.index - y.index);
  const topN = p.topNField && typeof b[p.topNField] === "number" ? (b[p.topNField] as number) : ranked.length;
  return { status: 200, body: p.respond(query, docs, ranked.slice(0, topN), b) };
}

export async function startFakeVendor(vendor: FakeVendor, options: FakeVendorOptions = {}): Promise<HarnessServer> {
  return startHarness((req) => answerVendorRequest(vendor, req, options), options.script);
}
