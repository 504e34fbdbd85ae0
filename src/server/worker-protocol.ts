import type { PrepareOptions } from "../core/batch-scorer.js";
import type { ErrorCode } from "../core/errors.js";
import type { FamilyCallOptions, RankedResult } from "../core/types.js";

/** What a whole-request rerank in the worker carries from the HTTP request to the family. */
export interface WorkerRerankOptions {
  topN?: number;
  instruction?: string;
  family?: FamilyCallOptions;
}

/** A whole-request rerank's answer: the family's results (indices into the texts sent) and its warnings. */
export interface WorkerRerankResult {
  results: RankedResult[];
  warnings: string[];
}

/**
 * Messages between a ServedModel and the worker thread hosting its reranker. Batched
 * models are driven by handle: "prepare" tokenizes and keeps the units in the worker,
 * "score" names units by (handle, index), "release" frees what a failed request held.
 */
export type WorkerRequest =
  | { id: number; op: "load"; spec: unknown }
  | { id: number; op: "prepare"; query: string; texts: string[]; options: Omit<PrepareOptions, "signal"> }
  | { id: number; op: "score"; handles: Int32Array; units: Int32Array }
  | { id: number; op: "release"; handles: number[] }
  | { id: number; op: "held" }
  | { id: number; op: "normalize"; logits: number[] }
  | { id: number; op: "rerank"; query: string; texts: string[]; options: WorkerRerankOptions }
  | { id: number; op: "abort"; target: number }
  | { id: number; op: "close" };

export interface WorkerReply {
  id: number;
  value?: unknown;
  error?: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

export type WorkerRequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;
