import { z } from "zod";

/**
 * The options of each built-in first stage, checked before anything is opened so a
 * config file or `--retriever` JSON fails on its bad field, not halfway through a run.
 * Pool settings (`name`, `k`, `filter`, `weight`) belong to pipelines, not to these.
 */
const k1 = z.number().min(0).max(100);
const b = z.number().min(0).max(1);
const folder = z.string().min(1);

const bm25 = z.strictObject({
  type: z.literal("bm25"),
  /** Folder written by `winnow index` (default: the context's index, else built from the dataset). */
  index: folder.optional(),
  /** BEIR folder to build the index from in memory. */
  dataset: folder.optional(),
  k1: k1.optional(),
  b: b.optional(),
});

const bm25Rm3 = z.strictObject({
  type: z.literal("bm25-rm3"),
  /** Folder written by `winnow index` (default: the context's index, else built from the dataset). */
  index: folder.optional(),
  /** BEIR folder to build the index from in memory. */
  dataset: folder.optional(),
  k1: k1.optional(),
  b: b.optional(),
  /** Anserini's `-rm3` defaults: 10 feedback documents, 10 terms, original query weight 0.5. */
  fbDocs: z.number().int().min(1).max(10_000).default(10),
  fbTerms: z.number().int().min(1).max(10_000).default(10),
  originalQueryWeight: z.number().min(0).max(1).default(0.5),
});

const memory = z.strictObject({
  type: z.literal("memory"),
  documents: z
    .array(
      z.strictObject({
        id: z.union([z.string().min(1), z.number()]).transform(String),
        text: z.string(),
        title: z.string().optional(),
        metadata: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1, "list at least one document"),
  k1: k1.optional(),
  b: b.optional(),
});

const dense = z.strictObject({
  type: z.literal("dense"),
  /** Folder with stored vectors (`winnow index` + `winnow embed`); documents come from its BM25 store. */
  index: folder.optional(),
  /** BEIR folder whose corpus is embedded (and cached) when there are no stored vectors. */
  dataset: folder.optional(),
  /** Bi-encoder folder or hub id (ONNX): shorthand for `embedder: {type: "onnx", model}`. */
  model: z.string().min(1).optional(),
  /** How queries (and, on the fly, documents) are embedded; default: the one recorded with stored vectors. */
  embedder: z.looseObject({ type: z.enum(["onnx", "openai"]) }).optional(),
  pooling: z.enum(["mean", "cls"]).optional(),
  maxLength: z.number().int().min(2).max(8192).optional(),
  queryPrefix: z.string().optional(),
  documentPrefix: z.string().optional(),
  /** Texts per embedding call while embedding a corpus. */
  batchSize: z.number().int().min(1).max(4096).optional(),
  /** Where corpus embeddings are cached (default `$WINNOW_CACHE/embeddings`, else `~/.cache/winnow/embeddings`). */
  cacheDir: folder.optional(),
  /** false: embed the corpus every time, never read or write the cache. */
  cache: z.boolean().optional(),
  offline: z.boolean().optional(),
});

const hybrid = z
  .strictObject({
    type: z.literal("hybrid"),
    /** The retrievers fused (each checked by its own row); default bm25 + dense. */
    retrievers: z.array(z.looseObject({ type: z.string().min(1) })).min(2, "list at least two retrievers").optional(),
    /** The default dense part's bi-encoder (without it, the dense part needs stored vectors). */
    model: z.string().min(1).optional(),
    /** RRF constant: a document at rank r in one list scores 1 / (rrfK + r). */
    rrfK: z.number().min(0).default(60),
    /** Candidates asked of each retriever before fusion (default: max(k, 100)). */
    depth: z.number().int().min(1).max(10_000).optional(),
  })
  .refine((s) => s.retrievers === undefined || s.model === undefined, {
    message: "`model` is for the default bm25 + dense pair; with `retrievers`, give each its own",
    path: ["model"],
  });

export const builtinRetrieverSchemas = { bm25, "bm25-rm3": bm25Rm3, memory, dense, hybrid };

export type Bm25RetrieverSpec = z.infer<typeof bm25>;
export type Bm25Rm3RetrieverSpec = z.infer<typeof bm25Rm3>;
export type MemoryRetrieverSpec = z.infer<typeof memory>;
export type DenseRetrieverSpec = z.infer<typeof dense>;
export type HybridRetrieverSpec = z.infer<typeof hybrid>;
