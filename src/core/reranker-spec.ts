import type { Document, Reranker } from "./types.js";

/**
 * A reranker described as data, as it comes from CLI flags, a server config file
 * or a pipeline config: `type` picks the family, the rest is the family's options
 * (each family validates its own and names the bad field).
 */
export interface RerankerSpec {
  type: string;
  [option: string]: unknown;
}

/**
 * What a first stage's index can hand a reranker: stored documents by id. The BM25
 * index also offers corpus statistics and stored terms, which the learned family reads
 * (it checks for them itself, and falls back to candidate statistics without them).
 */
export interface CorpusIndex {
  docIndex(id: string): number | undefined;
  document(i: number): Document | undefined;
}

/** Stored vectors by position (dense document vectors today, token matrices for late interaction next). */
export interface StoredVectors {
  readonly dim: number;
  readonly size: number;
  id(i: number): string;
  vector(i: number): Float32Array;
}

/** The few log calls a family may make while it loads (pino's methods fit). */
export interface RerankerLogger {
  warn(message: string): void;
  info?(message: string): void;
  debug?(message: string): void;
}

/**
 * What a family may need from its surroundings rather than from its spec: the caller
 * (CLI command, pipeline, server) fills in what it has, and each family takes what it
 * uses, so no caller needs to know which family wants what.
 */
export interface RerankerContext {
  /** The first stage's index (the BM25 index when there is one): corpus statistics, stored documents. */
  index?: CorpusIndex;
  /** Vectors stored with the corpus. */
  vectors?: StoredVectors;
  /** The saved index folder the first stage reads (`--index`): stores beside it (ColBERT token vectors) are found there. */
  indexDir?: string;
  /** Folder relative paths in the spec resolve against (a config file's folder); default: the working directory. */
  baseDir?: string;
  logger?: RerankerLogger;
}

export type RerankerFactory = (spec: RerankerSpec, context: RerankerContext) => Promise<Reranker>;
