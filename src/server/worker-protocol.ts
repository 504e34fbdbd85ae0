import type { PrepareOptions } from "../core/batch-scorer.js";
import type { ErrorCode } from "../core/errors.js";

/** Messages between a ServedModel and the worker thread hosting its reranker. */
export type WorkerRequest =
  | { id: number; op: "load"; spec: unknown }
  | { id: number; op: "prepare"; query: string; texts: string[]; options: Omit<PrepareOptions, "signal"> }
  | { id: number; op: "score"; units: unknown[] }
  | { id: number; op: "normalize"; logits: number[] }
  | { id: number; op: "rerank"; query: string; texts: string[] }
  | { id: number; op: "abort"; target: number }
  | { id: number; op: "close" };

export interface WorkerReply {
  id: number;
  value?: unknown;
  error?: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

export type WorkerRequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;
