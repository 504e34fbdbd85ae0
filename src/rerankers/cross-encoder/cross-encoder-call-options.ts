import type { TruncationDirection } from "../../core/batch-scorer.js";

/** Which number a cross-encoder reports as `score`: its activation (default), the raw logit, or calibrated. */
export type ScoreKind = "normalized" | "logit" | "calibrated";

/**
 * A cross-encoder's per-call options (`options.family["cross-encoder"]`); each overrides
 * the reranker's own setting for one call, and each is part of the score cache's identity.
 */
export interface CrossEncoderCallOptions {
  /** Which number is `score` for this call. */
  scores?: ScoreKind;
  /** Score at most this many overlapping windows per document (keep the max). */
  maxChunksPerDoc?: number;
  /** Score the first window only. */
  truncate?: boolean;
  /** Cap each document at this many tokens before windowing. */
  maxTokensPerDoc?: number;
  /** Which end a cut keeps: "right" (default) keeps the start, "left" keeps the end. */
  truncationDirection?: TruncationDirection;
}

declare module "../../core/types.js" {
  interface FamilyCallOptions {
    "cross-encoder"?: CrossEncoderCallOptions;
  }
}
