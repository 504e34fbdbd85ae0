/**
 * Response and error bodies of every route, as JSON schema, for the OpenAPI document
 * (@fastify/swagger reads `schema.response`). The routes keep JSON.stringify as their
 * serializer (documentedResponses), so a schema documents the body and never reshapes
 * it; test/server/client-openapi.test.ts validates real responses against the document.
 */

const str = { type: "string" } as const;
const num = { type: "number" } as const;
const int = { type: "integer" } as const;
const bool = { type: "boolean" } as const;

/** Cohere-style error: every route but TEI's. */
export const COHERE_ERROR = {
  type: "object",
  required: ["message", "code"],
  properties: { message: str, code: str, field: str, limit: {} },
  description: "Error: a one-line message, Winnow's error code, and the field and limit at fault when there is one",
} as const;

/** TEI-style error (POST /rerank, /tokenize, GET /info). */
export const TEI_ERROR = {
  type: "object",
  required: ["error", "error_type", "code"],
  properties: { error: str, error_type: str, code: str, field: str, limit: {} },
  description: "TEI-style error: message in `error`, TEI's error_type, and Winnow's code and field",
} as const;

const cohereMeta = {
  type: "object",
  properties: {
    api_version: { type: "object", properties: { version: str, is_experimental: bool } },
    billed_units: { type: "object", properties: { search_units: num } },
    tokens: { type: "object", properties: { input_tokens: num, output_tokens: num } },
    warnings: { type: "array", items: str },
  },
} as const;

const cohereResult = (document: object) => ({
  type: "object",
  required: ["index", "relevance_score"],
  properties: { index: int, relevance_score: num, document },
});

export const COHERE_V1_RESPONSE = {
  type: "object",
  required: ["id", "results", "meta"],
  properties: {
    id: str,
    model: str,
    results: { type: "array", items: cohereResult({ type: "object", additionalProperties: str }) },
    meta: cohereMeta,
    usage: { type: "object", properties: { total_tokens: num } },
    object: { type: "string", enum: ["list"], description: "Voyage's dialect only (top_k or truncation sent)" },
    data: { type: "array", items: cohereResult({ type: "string" }), description: "Voyage's dialect only" },
  },
} as const;

export const COHERE_V2_RESPONSE = {
  type: "object",
  required: ["id", "results", "meta"],
  properties: { id: str, results: { type: "array", items: cohereResult({ type: "object", required: ["text"], properties: { text: str } }) }, meta: cohereMeta },
} as const;

export const TEI_RERANK_RESPONSE = {
  type: "array",
  description: "TEI: results sorted by score",
  items: { type: "object", required: ["index", "score"], properties: { index: int, score: num, text: str } },
} as const;

export const INFINITY_RERANK_RESPONSE = {
  type: "object",
  description: "Infinity: sent when the body carries `documents` (Infinity's field) instead of `texts`",
  required: ["object", "results", "model", "usage", "id", "created"],
  properties: {
    object: { type: "string", enum: ["rerank"] },
    results: {
      type: "array",
      items: { type: "object", required: ["relevance_score", "index"], properties: { relevance_score: num, index: int, document: { type: ["string", "null"] } } },
    },
    model: str,
    usage: { type: "object", required: ["prompt_tokens", "total_tokens"], properties: { prompt_tokens: int, total_tokens: int } },
    id: str,
    created: int,
  },
} as const;

export const TEI_TOKENIZE_RESPONSE = {
  type: "array",
  description: "One token list per input; start and stop are null (no character offsets)",
  items: {
    type: "array",
    items: { type: "object", required: ["id", "text", "special", "start", "stop"], properties: { id: int, text: str, special: bool, start: { type: ["integer", "null"] }, stop: { type: ["integer", "null"] } } },
  },
} as const;

export const TEI_INFO_RESPONSE = {
  type: "object",
  required: ["model_id", "model_type", "max_concurrent_requests", "max_input_length", "max_batch_tokens", "max_batch_requests", "max_client_batch_size", "auto_truncate", "version"],
  properties: {
    model_id: str,
    model_sha: { type: ["string", "null"] },
    model_dtype: str,
    model_type: { type: "object", properties: { reranker: { type: "object", properties: { id2label: { type: "object" }, label2id: { type: "object" } } } } },
    max_concurrent_requests: int,
    max_input_length: { type: ["integer", "null"], description: "null for a model without a token limit (learned, hosted APIs)" },
    max_batch_tokens: { type: ["integer", "null"] },
    max_batch_requests: { type: ["integer", "null"] },
    max_client_batch_size: int,
    auto_truncate: bool,
    tokenization_workers: { type: ["integer", "null"] },
    version: str,
    sha: { type: ["string", "null"] },
    docker_label: { type: ["string", "null"] },
  },
} as const;

const modelEntry = {
  type: "object",
  required: ["id", "type", "state", "batched", "default", "aliases"],
  properties: { id: str, type: str, state: { type: "string", enum: ["loading", "ready", "failed"] }, batched: bool, default: bool, aliases: { type: "array", items: str } },
} as const;

export const MODEL_LIST_RESPONSE = {
  type: "object",
  required: ["models", "object", "data"],
  properties: {
    models: { type: "array", description: "Cohere's list-models shape", items: { ...modelEntry, required: [...modelEntry.required, "name", "endpoints"], properties: { ...modelEntry.properties, name: str, endpoints: { type: "array", items: str } } } },
    object: { type: "string", enum: ["list"] },
    data: { type: "array", description: "OpenAI's shape", items: { type: "object", required: ["id", "object", "owned_by"], properties: { id: str, object: { type: "string", enum: ["model"] }, owned_by: str } } },
  },
} as const;

export const MODEL_RESPONSE = {
  type: "object",
  description: "One served model, OpenAI's fields first (GET /v1/models/{id}; an alias answers with its model)",
  required: ["id", "object", "owned_by", "type", "state", "batched", "default", "aliases"],
  properties: { ...modelEntry.properties, object: { type: "string", enum: ["model"] }, owned_by: str },
} as const;

/**
 * A route's schema with its `response` map, and a serializer that leaves bodies as the
 * handler built them (fast-json-stringify would drop fields a schema does not list).
 */
export function documented<S extends object>(schema: S, response: Record<string, unknown>) {
  return { schema: { ...schema, response }, serializerCompiler: () => (data: unknown) => JSON.stringify(data) };
}
