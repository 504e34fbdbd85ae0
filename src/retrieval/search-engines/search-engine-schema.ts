import { z } from "zod";

/**
 * Options shared by the `opensearch` and `elasticsearch` rows: where the cluster is, what
 * to search, how to read the document text back, and how to authenticate. Checked before
 * a client is created, so a bad field fails at once with its name.
 */
const auth = z
  .strictObject({
    /** Elasticsearch/OpenSearch API key (the base64 `id:key` form the engines issue). */
    apiKey: z.string().min(1).optional(),
    /** Name of an environment variable holding the API key (keeps secrets out of config files). */
    apiKeyEnv: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    password: z.string().optional(),
    /** Name of an environment variable holding the password. */
    passwordEnv: z.string().min(1).optional(),
  })
  .refine((a) => !(a.apiKey !== undefined && a.apiKeyEnv !== undefined), { message: "give apiKey or apiKeyEnv, not both", path: ["apiKeyEnv"] })
  .refine((a) => !(a.password !== undefined && a.passwordEnv !== undefined), { message: "give password or passwordEnv, not both", path: ["passwordEnv"] });

const tls = z.strictObject({
  /** PEM file of the CA that signed the cluster's certificate. */
  caFile: z.string().min(1).optional(),
  /** false accepts any certificate (test clusters only). */
  rejectUnauthorized: z.boolean().optional(),
});

const knn = z.strictObject({
  /** The dense_vector (Elasticsearch) or knn_vector (OpenSearch) field. */
  field: z.string().min(1),
  /** How queries are embedded: the same spec `winnow embed` and the dense retriever take. */
  embedder: z.looseObject({ type: z.enum(["onnx", "openai"]) }),
  /** Elasticsearch's num_candidates: candidates per shard considered (default max(2k, 100)). */
  numCandidates: z.number().int().min(1).max(10_000).optional(),
});

export const searchEngineSpecShape = {
  /** Cluster URL(s), e.g. https://localhost:9200. */
  node: z.union([z.string().url(), z.array(z.string().url()).min(1)]),
  /** Index, alias or comma-separated list of them. */
  index: z.string().min(1),
  /** Fields multi_match searches, with optional boosts (`title^2`). */
  fields: z.array(z.string().min(1)).min(1).default(["text"]),
  /** multi_match type (best_fields is the engines' default). */
  matchType: z.enum(["best_fields", "most_fields", "cross_fields", "phrase", "phrase_prefix", "bool_prefix"]).default("best_fields"),
  /** A query DSL object replacing multi_match; every string "{{query}}" in it becomes the query text. */
  query: z.record(z.string(), z.unknown()).optional(),
  /** lexical (default), knn (vectors only) or hybrid (both; see docs/retrievers-external.md). */
  mode: z.enum(["lexical", "knn", "hybrid"]).default("lexical"),
  knn: knn.optional(),
  /** OpenSearch hybrid: the search pipeline holding the normalization processor. */
  searchPipeline: z.string().min(1).optional(),
  /** Query DSL filter clauses applied to every search (lexical and kNN). */
  filters: z.array(z.record(z.string(), z.unknown())).optional(),
  /** Where `filter` (MetadataFilter) keys live in the documents: `metadata.` makes `year` the field `metadata.year`. */
  metadataPrefix: z.string().default(""),
  /** _source fields read back: `text` (default: the first of `fields`), `title`, and metadata fields. */
  sourceFields: z
    .strictObject({
      text: z.string().min(1).optional(),
      title: z.string().min(1).optional(),
      metadata: z.array(z.string().min(1)).optional(),
    })
    .default({}),
  auth: auth.optional(),
  tls: tls.optional(),
  /** Per-request timeout (the client's requestTimeout). */
  timeoutMs: z.number().int().min(1).max(600_000).default(10_000),
  /** Retries of a failed request on another node (the client's maxRetries). */
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** Hits per request; a deeper list pages with a point in time and search_after (10,000 is the engines' default max_result_window). */
  pageSize: z.number().int().min(1).max(10_000).default(10_000),
  /** How long the point in time lives between pages. */
  keepAlive: z.string().regex(/^\d+(ms|s|m|h)$/, "a duration like 1m").default("1m"),
};

function checkMode(s: { mode: string; knn?: unknown; query?: unknown }, ctx: z.RefinementCtx): void {
  if (s.mode !== "lexical" && s.knn === undefined) ctx.addIssue({ code: "custom", path: ["knn"], message: `mode "${s.mode}" needs knn: { field, embedder }` });
  if (s.mode === "knn" && s.query !== undefined) ctx.addIssue({ code: "custom", path: ["query"], message: 'a query template has no use in mode "knn"' });
}

export const opensearchSchema = z.strictObject({ type: z.literal("opensearch"), ...searchEngineSpecShape }).superRefine((s, ctx) => {
  checkMode(s, ctx);
  // OpenSearch combines scores of a hybrid query only in a search pipeline's normalization processor.
  if (s.mode === "hybrid" && s.searchPipeline === undefined) ctx.addIssue({ code: "custom", path: ["searchPipeline"], message: 'mode "hybrid" on OpenSearch needs searchPipeline (a pipeline with a normalization-processor)' });
});

export const elasticsearchSchema = z
  .strictObject({
    type: z.literal("elasticsearch"),
    ...searchEngineSpecShape,
    /** Hybrid weights: the lexical query's boost and the kNN section's boost (scores are summed). */
    lexicalBoost: z.number().min(0).default(1),
    knnBoost: z.number().min(0).default(1),
  })
  .superRefine((s, ctx) => {
    checkMode(s, ctx);
    if (s.searchPipeline !== undefined) ctx.addIssue({ code: "custom", path: ["searchPipeline"], message: "searchPipeline is OpenSearch's; Elasticsearch sums query and knn scores with lexicalBoost/knnBoost" });
  });

export type OpenSearchRetrieverSpec = z.infer<typeof opensearchSchema>;
export type ElasticsearchRetrieverSpec = z.infer<typeof elasticsearchSchema>;
export type SearchEngineRetrieverSpec = OpenSearchRetrieverSpec | ElasticsearchRetrieverSpec;
