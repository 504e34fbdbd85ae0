import type { z } from "zod";
import { WinnowError } from "../core/errors.js";
import type { CorpusIndex, StoredVectors } from "../core/reranker-spec.js";
import type { Retriever } from "../core/types.js";
import type { Bm25Index } from "./bm25/bm25-index.js";
import { builtinRetrieverSchemas } from "./retriever-schemas.js";
import { colbertRetrieverSchema } from "./colbert/colbert-retriever-schema.js";
import { postgresSchema } from "./postgres/postgres-schema.js";
import { elasticsearchSchema, opensearchSchema } from "./search-engines/search-engine-schema.js";

/**
 * A first stage described as data, as it comes from `--retriever`, a pipeline config
 * or a server config: `type` picks the row, the rest are that row's options (its zod
 * schema checks them and names the bad field).
 */
export interface RetrieverSpec {
  type: string;
  [option: string]: unknown;
}

/**
 * What a first stage may need from its surroundings rather than from its spec. Spec
 * fields win over the context (a pipeline's `index: ./idx` over the command's `--index`).
 */
export interface RetrieverContext {
  /** Folder relative paths in specs resolve against (a config file's folder); default: the working directory. */
  baseDir?: string;
  /** A BEIR folder (corpus.jsonl) to index or embed when the spec names no index. */
  dataset?: string;
  /** A BM25 index already built, or the folder of a saved one (`winnow index`). */
  index?: Bm25Index | string;
  /** Folder corpus embeddings are cached in (a spec's `cacheDir` wins); default `$WINNOW_CACHE/embeddings`, else `~/.cache/winnow/embeddings`. */
  cacheDir?: string;
  /** Progress lines for a terminal (indexing, embedding); silent when absent. */
  progress?: (message: string) => void;
  /** Where a first stage reports partial or degraded answers (failed shards); default: stderr. */
  warn?: (message: string) => void;
}

/** A retriever as a registry row builds it: searchable, and able to say what it is. */
export interface FirstStageRetriever extends Retriever {
  /** The corpus index behind it (the BM25 index), offered to rerankers as their context's `index`. */
  readonly corpusIndex?: CorpusIndex;
  /** The document vectors it searches, offered to rerankers as their context's `vectors`. */
  readonly vectors?: StoredVectors;
  /** Settings in effect and sizes, for reports (`winnow eval --format json`'s `retriever`). */
  describe?(): Record<string, unknown>;
  close?(): Promise<void>;
}

/** Builds a retriever from options its row's schema has already checked. */
export type RetrieverFactory = (spec: RetrieverSpec, context: RetrieverContext) => Promise<FirstStageRetriever>;

interface Entry {
  description: string;
  /** Checks the spec before anything loads (plain zod, cheap); absent for rows registered without one. */
  schema?: z.ZodType;
  /** Lazy so that `winnow search` with BM25 never loads ONNX Runtime. */
  load: () => Promise<RetrieverFactory>;
  /** An option holding retriever specs (hybrid's `retrievers`): each is checked by its own row. */
  nested?: string;
}

/**
 * The built-in first stages. A new one is a row here (or a registerRetriever call);
 * commands and pipelines take any of them by name or JSON spec.
 */
const builtins: Record<string, Entry> = {
  bm25: {
    schema: builtinRetrieverSchemas.bm25,
    description: "BM25 scored like Lucene/Anserini: a saved index (`index`), the command's --index, or built from the dataset",
    load: async () => (await import("./bm25/bm25-retriever-factory.js")).createBm25Retriever,
  },
  "bm25-rm3": {
    schema: builtinRetrieverSchemas["bm25-rm3"],
    description: "BM25 with RM3 query expansion as Anserini's -bm25 -rm3 (fbDocs 10, fbTerms 10, originalQueryWeight 0.5): same index sources as bm25",
    load: async () => (await import("./bm25/rm3-retriever-factory.js")).createBm25Rm3Retriever,
  },
  memory: {
    schema: builtinRetrieverSchemas.memory,
    description: "BM25 over documents given inline in the spec (`documents: [{id, text, title?}]`): small corpora, tests",
    load: async () => (await import("./bm25/bm25-retriever-factory.js")).createMemoryRetriever,
  },
  dense: {
    schema: builtinRetrieverSchemas.dense,
    description: "bi-encoder vectors: an index folder's stored vectors (`winnow embed`), or the dataset embedded with `model` and cached",
    load: async () => (await import("./dense/dense-retriever-factory.js")).createDenseRetriever,
  },
  colbert: {
    schema: colbertRetrieverSchema,
    description: "ColBERT late interaction, PLAID-style: centroid postings, centroid interaction, exact MaxSim, over an index's residual token store (`winnow index --colbert`)",
    load: async () => (await import("./colbert/colbert-retriever-factory.js")).createColbertRetriever,
  },
  hybrid: {
    schema: builtinRetrieverSchemas.hybrid,
    nested: "retrievers",
    description: "reciprocal rank fusion of several retrievers (`retrievers: [...]`; default bm25 + dense, with `model` when given)",
    load: async () => (await import("./fusion/hybrid-retriever-factory.js")).createHybridRetriever,
  },
  opensearch: {
    schema: opensearchSchema,
    description: "an OpenSearch index (`node`, `index`): multi_match over `fields` or a `query` template, kNN/hybrid, search_after beyond pageSize",
    load: async () => (await import("./opensearch/opensearch-retriever-factory.js")).createOpenSearchRetriever,
  },
  elasticsearch: {
    schema: elasticsearchSchema,
    description: "an Elasticsearch 8 index (`node`, `index`): multi_match over `fields` or a `query` template, kNN/hybrid, search_after beyond pageSize",
    load: async () => (await import("./elasticsearch/elasticsearch-retriever-factory.js")).createElasticsearchRetriever,
  },
  postgres: {
    schema: postgresSchema,
    description: "a PostgreSQL table (`connection`, `table`, `textColumns`): full-text ranked by ts_rank_cd, or BM25 in SQL from side tables (`winnow pg bm25`)",
    load: async () => (await import("./postgres/postgres-retriever.js")).createPostgresRetriever,
  },
};

const custom = new Map<string, Entry>();

/**
 * Registers a first stage under `type` (overrides a built-in of the same name). With a
 * zod `schema`, specs are checked (and bad fields named) before the factory runs.
 */
export function registerRetriever(type: string, factory: RetrieverFactory, description = "", schema?: z.ZodType): void {
  custom.set(type, { description, schema, load: async () => factory });
}

export function retrieverTypes(): Array<{ type: string; description: string }> {
  const all = new Map<string, Entry>([...Object.entries(builtins), ...custom]);
  return [...all].map(([type, e]) => ({ type, description: e.description })).sort((a, b) => a.type.localeCompare(b.type));
}

function entryFor(spec: RetrieverSpec): Entry {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec) || typeof spec.type !== "string") {
    throw new WinnowError("CONFIG_INVALID", "retriever spec needs a string `type`", { details: { field: "type" } });
  }
  // hasOwn: a type like "toString" must be unknown, not an Object.prototype member.
  const entry = custom.get(spec.type) ?? (Object.hasOwn(builtins, spec.type) ? builtins[spec.type] : undefined);
  if (!entry) {
    const known = retrieverTypes().map((t) => t.type).join(", ");
    const message = `unknown retriever type "${spec.type}" (known: ${known || "none"})`;
    throw new WinnowError("CONFIG_INVALID", message, { details: { field: "type", issue: message } });
  }
  return entry;
}

/** `retrievers[0].k` style: the path zod reports, joined the way config files write it. */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
}

/**
 * The spec after its row's schema: defaults filled in, or a CONFIG_INVALID error whose
 * message and `details.field` name the first bad field. Synchronous, so a config file is
 * checked whole before anything is opened.
 */
export function checkRetrieverSpec(spec: RetrieverSpec): RetrieverSpec {
  const entry = entryFor(spec);
  if (!entry.schema) return spec;
  const parsed = entry.schema.safeParse(spec);
  if (parsed.success) {
    const data = parsed.data as RetrieverSpec;
    const children = entry.nested ? data[entry.nested] : undefined;
    if (Array.isArray(children)) {
      data[entry.nested!] = children.map((child: RetrieverSpec, i) => {
        try {
          return checkRetrieverSpec(child);
        } catch (err) {
          const inner = err as WinnowError;
          const field = `${entry.nested}[${i}].${inner.details?.field ?? "type"}`;
          throw new WinnowError("CONFIG_INVALID", `${spec.type} retriever: ${entry.nested}[${i}]: ${inner.message}`, { details: { field, issue: inner.details?.issue ?? inner.message } });
        }
      });
    }
    return data;
  }
  const issue = parsed.error.issues[0];
  const keys = issue.code === "unrecognized_keys" ? (issue as { keys: string[] }).keys : [];
  const field = issuePath([...issue.path, ...(keys.length ? [keys[0]] : [])]) || "type";
  const message = keys.length ? `unknown option${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}` : issue.message;
  throw new WinnowError("CONFIG_INVALID", `${spec.type} retriever: ${field}: ${message}`, { details: { field, issue: message } });
}

/**
 * Creates a first stage from its spec. Retrievers created with one context share the
 * BM25 indexes they open (a hybrid and a BM25 pool over one folder load it once).
 */
export async function createRetriever(spec: RetrieverSpec, context: RetrieverContext = {}): Promise<FirstStageRetriever> {
  const checked = checkRetrieverSpec(spec);
  const factory = await entryFor(checked).load();
  return factory(checked, context);
}
