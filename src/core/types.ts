/** A document as Winnow sees it: one id, the text, and optional structure. */
export interface Document {
  id: string;
  text: string;
  title?: string;
  /** Extra named text fields (e.g. `section`, `url`); rerankers may use them via rank fields. */
  fields?: Record<string, string>;
  /** Non-text attributes (dates, source, trust), used by filters and weighted scoring. */
  metadata?: Record<string, unknown>;
}

export interface Query {
  /** Present when the query comes from a test collection. */
  id?: string;
  text: string;
  /** Free-text instruction for rerankers that take one (LLMs, instruction-tuned models). */
  instruction?: string;
}

export type QueryInput = string | Query;

/** A first-stage hit: the document, its first-stage score and 1-based rank. */
export interface Candidate {
  document: Document;
  score: number;
  rank: number;
  /** Which retriever (or fused pool) produced it. */
  source?: string;
  /** Named scores from earlier stages (`bm25`, `dense`, `cross-encoder`…), usable as features. */
  scores?: Record<string, number>;
}

/** What callers may hand a reranker: plain strings, documents, or first-stage candidates. */
export type CandidateInput = string | Document | Candidate;

/** One reranked item: the same shape from every reranker family. */
export interface RankedResult {
  /** Position of this item in the input list handed to `rerank`. */
  index: number;
  id: string;
  /** Relevance score, higher is better. Comparable only within one reranker. */
  score: number;
  document?: Document;
  /** Family-specific extras: raw logit, windows scored, degraded flag, usage… */
  details?: Record<string, unknown>;
}

export interface RerankOptions {
  /** Keep only the best `topN` results (all when absent). */
  topN?: number;
  signal?: AbortSignal;
  /** Attach the document to each result (default true). */
  returnDocuments?: boolean;
  /** Per-call instruction for rerankers that accept one; the others refuse it (never silently drop it). */
  instruction?: string;
  /** Receives what the reranker wants said about this call (truncated passages, repaired answers…). */
  onWarnings?: (warnings: readonly string[]) => void;
  /**
   * Per-family options, namespaced by family (`family["cross-encoder"]`, `family.learned`).
   * Each family adds its key to FamilyCallOptions and reads only its own (another family's
   * key is left alone, so one options object can serve every stage of a cascade).
   */
  family?: FamilyCallOptions;
}

/**
 * The per-call options of every family, one key each. Families augment it by declaration
 * merging, next to their reranker:
 * `declare module "../../core/types.js" { interface FamilyCallOptions { "cross-encoder"?: CrossEncoderCallOptions } }`
 */
export interface FamilyCallOptions {}

export interface Reranker {
  readonly name: string;
  rerank(query: QueryInput, candidates: readonly CandidateInput[], options?: RerankOptions): Promise<RankedResult[]>;
  /** Release native resources (sessions, sockets). Optional. */
  close?(): Promise<void>;
}

/** A metadata filter: every key must match (equality, one of a list, or a numeric/date range). */
export type MetadataFilter = Record<
  string,
  string | number | boolean | Array<string | number | boolean> | { gte?: number | string; lte?: number | string; gt?: number | string; lt?: number | string }
>;

export interface SearchOptions {
  signal?: AbortSignal;
  filter?: MetadataFilter;
}

export interface Retriever {
  readonly name: string;
  search(query: QueryInput, k: number, options?: SearchOptions): Promise<Candidate[]>;
}
