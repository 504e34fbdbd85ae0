import type { Reranker } from "./types.js";

/**
 * The seam between a model and whoever schedules its forward passes. A cross-encoder
 * exposes one so the server can batch pairs from many requests into shared forward
 * passes (by a token budget), instead of running the model once per request.
 */

/** One unit of model work: a (query, document window) pair, already tokenized. */
export interface ScoringUnit {
  /** Token count of the pair, for token-budget batching. */
  readonly tokens: number;
}

export interface PrepareOptions {
  /** Score at most this many overlapping windows per document (keep the max). */
  maxChunksPerDoc?: number;
  /** Truncate instead of windowing. */
  truncate?: boolean;
  /** Cap each document at this many tokens before windowing. */
  maxTokensPerDoc?: number;
  /**
   * Which end of a long document truncation (and the window cap) keeps: "right" (the
   * default) cuts the end and keeps the start, "left" cuts the start and keeps the end.
   */
  truncationDirection?: TruncationDirection;
  signal?: AbortSignal;
}

export type TruncationDirection = "right" | "left";

export interface PreparedRequest<U extends ScoringUnit = ScoringUnit> {
  units: U[];
  /** owner[u] = index of the input text that unit u belongs to. */
  owner: Int32Array;
  /** Number of input texts. */
  texts: number;
  /** Total tokens over all units. */
  tokens: number;
  /** Time spent tokenizing, for timing headers and metrics. */
  tokenizeMs: number;
}

export interface BatchScorer<U extends ScoringUnit = ScoringUnit> {
  /** Identity for caches and metrics: model id + revision + dtype + max length. */
  readonly id: string;
  /** Largest token budget one forward pass should take. */
  readonly maxBatchTokens: number;
  prepare(query: string, texts: readonly string[], options?: PrepareOptions): Promise<PreparedRequest<U>>;
  /** Raw logits, one per unit, in the order given. */
  scoreUnits(units: readonly U[], signal?: AbortSignal): Promise<Float32Array>;
  /** The model's activation: logit → relevance in [0, 1]. */
  normalize(logit: number): number;
}

/** A reranker whose forward passes can be scheduled from outside. */
export interface BatchableReranker extends Reranker {
  readonly batchScorer: BatchScorer;
}

export function isBatchableReranker(r: Reranker): r is BatchableReranker {
  return typeof (r as Partial<BatchableReranker>).batchScorer === "object" && (r as BatchableReranker).batchScorer !== null;
}
