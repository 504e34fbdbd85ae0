/**
 * The hosted rerank APIs as data: where each one lives, what its request fields are
 * called, where results and scores sit in its response, how it authenticates and how
 * many documents one call may carry. Adding a vendor is adding a row.
 *
 * Shapes checked against the vendors' published references (Cohere v1/v2 and the
 * cohere-ai SDK, Jina, Voyage, Mixedbread, Hugging Face TEI, Infinity, vLLM's rerank and
 * score APIs, llama.cpp's server). Ollama has no rerank endpoint: rerank with an Ollama
 * model through the `llm` family (its OpenAI-compatible /v1/chat/completions).
 */

export interface ProviderUsage {
  /** Cohere bills rerank in search units (one per 100 documents of ≤ 500 tokens). */
  searchUnits?: number;
  totalTokens?: number;
}

export interface ProviderRow {
  /** Default endpoint root; every row's is overridable with `baseUrl` (gateways, self-hosting). */
  defaultBaseUrl: string;
  /** Appended to the base URL. */
  path: string;
  /** Environment variables searched for a key, in order. */
  apiKeyEnv: readonly string[];
  /** Hosted vendors need a key; self-hosted servers (TEI, Infinity) usually run without one. */
  keyRequired: boolean;
  /** Whether the request carries `model` (TEI serves one model per server and has no such field). */
  sendsModel: boolean;
  /** The server picks its own model when `model` is left out (vLLM, llama.cpp serve one), so it is sent only when set. */
  modelOptional?: boolean;
  defaultModel?: string;
  /** Request field names. */
  fields: {
    /** The query's field (default `query`; vLLM's score API calls it `text_1`). */
    query?: "query" | "text_1";
    documents: "documents" | "texts" | "input" | "text_2";
    /** Absent when the API always scores everything (TEI). */
    topN?: "top_n" | "top_k";
    returnDocuments?: "return_documents" | "return_text" | "return_input";
    /** Per-document token cap field, when the vendor has one. */
    maxTokensPerDoc?: "max_tokens_per_doc";
    /** Boolean truncation switch, when the vendor has one. */
    truncate?: "truncation" | "truncate";
  };
  /** Fixed extras every request carries (e.g. TEI raw_scores=false for [0, 1] scores). */
  extraBody?: Record<string, unknown>;
  /** Where results live: a key of the response object, or the bare array itself. */
  resultsAt: "results" | "data" | "body";
  scoreField: "relevance_score" | "score";
  /** Largest number of documents one call may carry; larger requests are split. */
  maxDocumentsPerCall: number;
  usage: (body: Record<string, unknown>) => ProviderUsage;
}

function num(x: unknown): number | undefined {
  return typeof x === "number" && Number.isFinite(x) ? x : undefined;
}

function obj(x: unknown): Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
}

const cohereUsage = (b: Record<string, unknown>): ProviderUsage => ({
  searchUnits: num(obj(obj(b.meta).billed_units).search_units),
});
const tokenUsage = (b: Record<string, unknown>): ProviderUsage => ({ totalTokens: num(obj(b.usage).total_tokens) });

export const PROVIDERS = {
  /** Cohere v2: POST /v2/rerank {model, query, documents: string[], top_n, max_tokens_per_doc}. */
  cohere: {
    defaultBaseUrl: "https://api.cohere.com",
    path: "/v2/rerank",
    apiKeyEnv: ["COHERE_API_KEY", "CO_API_KEY"],
    keyRequired: true,
    sendsModel: true,
    defaultModel: "rerank-v3.5",
    fields: { documents: "documents", topN: "top_n", maxTokensPerDoc: "max_tokens_per_doc" },
    resultsAt: "results",
    scoreField: "relevance_score",
    // Cohere recommends ≤ 1,000 documents per call.
    maxDocumentsPerCall: 1000,
    usage: cohereUsage,
  },
  /** Cohere v1: POST /v1/rerank {model?, query, documents, top_n, return_documents, max_chunks_per_doc}. */
  "cohere-v1": {
    defaultBaseUrl: "https://api.cohere.com",
    path: "/v1/rerank",
    apiKeyEnv: ["COHERE_API_KEY", "CO_API_KEY"],
    keyRequired: true,
    sendsModel: true,
    defaultModel: "rerank-english-v3.0",
    fields: { documents: "documents", topN: "top_n", returnDocuments: "return_documents" },
    resultsAt: "results",
    scoreField: "relevance_score",
    maxDocumentsPerCall: 1000,
    usage: cohereUsage,
  },
  /** Jina: POST /v1/rerank {model, query, documents, top_n, return_documents} → {results, usage.total_tokens}. */
  jina: {
    defaultBaseUrl: "https://api.jina.ai",
    path: "/v1/rerank",
    apiKeyEnv: ["JINA_API_KEY"],
    keyRequired: true,
    sendsModel: true,
    defaultModel: "jina-reranker-v2-base-multilingual",
    fields: { documents: "documents", topN: "top_n", returnDocuments: "return_documents" },
    resultsAt: "results",
    scoreField: "relevance_score",
    maxDocumentsPerCall: 1024,
    usage: tokenUsage,
  },
  /** Voyage: POST /v1/rerank {query, documents, model, top_k, return_documents, truncation} → {data, usage}. */
  voyage: {
    defaultBaseUrl: "https://api.voyageai.com",
    path: "/v1/rerank",
    apiKeyEnv: ["VOYAGE_API_KEY"],
    keyRequired: true,
    sendsModel: true,
    defaultModel: "rerank-2.5",
    fields: { documents: "documents", topN: "top_k", returnDocuments: "return_documents", truncate: "truncation" },
    resultsAt: "data",
    scoreField: "relevance_score",
    // Voyage: "the number of documents cannot exceed 1000".
    maxDocumentsPerCall: 1000,
    usage: tokenUsage,
  },
  /** Mixedbread: POST /v1/reranking {model, query, input, top_k, return_input} → {data: [{index, score}], usage}. */
  mixedbread: {
    defaultBaseUrl: "https://api.mixedbread.com",
    path: "/v1/reranking",
    apiKeyEnv: ["MXBAI_API_KEY", "MIXEDBREAD_API_KEY"],
    keyRequired: true,
    sendsModel: true,
    defaultModel: "mixedbread-ai/mxbai-rerank-large-v2",
    fields: { documents: "input", topN: "top_k", returnDocuments: "return_input" },
    resultsAt: "data",
    scoreField: "score",
    maxDocumentsPerCall: 1000,
    usage: tokenUsage,
  },
  /** Hugging Face text-embeddings-inference: POST /rerank {query, texts, raw_scores, return_text, truncate} → [{index, score}]. */
  tei: {
    defaultBaseUrl: "http://127.0.0.1:8080",
    path: "/rerank",
    apiKeyEnv: ["TEI_API_KEY"],
    keyRequired: false,
    sendsModel: false,
    fields: { documents: "texts", returnDocuments: "return_text", truncate: "truncate" },
    extraBody: { raw_scores: false },
    resultsAt: "body",
    scoreField: "score",
    // TEI's default --max-client-batch-size is 32.
    maxDocumentsPerCall: 32,
    usage: () => ({}),
  },
  /** Infinity (michaelfeil/infinity): POST /rerank {query, documents, model, top_n, return_documents} → {results, usage}. */
  infinity: {
    defaultBaseUrl: "http://127.0.0.1:7997",
    path: "/rerank",
    apiKeyEnv: ["INFINITY_API_KEY"],
    keyRequired: false,
    sendsModel: true,
    defaultModel: "mixedbread-ai/mxbai-rerank-xsmall-v1",
    fields: { documents: "documents", topN: "top_n", returnDocuments: "return_documents" },
    resultsAt: "results",
    scoreField: "relevance_score",
    maxDocumentsPerCall: 1024,
    usage: tokenUsage,
  },
  /**
   * vLLM's rerank API (vllm serve <reranker>; https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#re-rank-api):
   * POST /v1/rerank {model?, query, documents, top_n} → {id, model, usage.total_tokens, results: [{index, document, relevance_score}]}.
   */
  vllm: {
    defaultBaseUrl: "http://127.0.0.1:8000",
    path: "/v1/rerank",
    apiKeyEnv: ["VLLM_API_KEY"],
    keyRequired: false,
    sendsModel: true,
    modelOptional: true,
    fields: { documents: "documents", topN: "top_n" },
    resultsAt: "results",
    scoreField: "relevance_score",
    // vLLM sets no per-call cap; this bounds one request's size, larger lists are split.
    maxDocumentsPerCall: 1000,
    usage: tokenUsage,
  },
  /**
   * vLLM's score API (https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#score-api):
   * POST /score {model?, text_1: query, text_2: documents} → {object: "list", data: [{index, object: "score", score}], usage}
   * (scores in input order, one per text_2 item).
   */
  "vllm-score": {
    defaultBaseUrl: "http://127.0.0.1:8000",
    path: "/score",
    apiKeyEnv: ["VLLM_API_KEY"],
    keyRequired: false,
    sendsModel: true,
    modelOptional: true,
    fields: { query: "text_1", documents: "text_2" },
    resultsAt: "data",
    scoreField: "score",
    maxDocumentsPerCall: 1000,
    usage: tokenUsage,
  },
  /**
   * llama.cpp's server started with --reranking (https://github.com/ggml-org/llama.cpp/tree/master/tools/server, POST /v1/rerank):
   * {model?, query, documents, top_n} → {model, object: "list", usage: {prompt_tokens, total_tokens}, results: [{index, relevance_score}]}.
   */
  "llama-cpp": {
    defaultBaseUrl: "http://127.0.0.1:8080",
    path: "/v1/rerank",
    apiKeyEnv: ["LLAMA_API_KEY"],
    keyRequired: false,
    sendsModel: true,
    modelOptional: true,
    fields: { documents: "documents", topN: "top_n" },
    resultsAt: "results",
    scoreField: "relevance_score",
    // Every document of a call shares the server's batch; keep calls to what a default context holds.
    maxDocumentsPerCall: 256,
    usage: tokenUsage,
  },
} satisfies Record<string, ProviderRow>;

export type ProviderName = keyof typeof PROVIDERS;

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as ProviderName[];

export function providerRow(name: ProviderName): ProviderRow {
  return PROVIDERS[name];
}
