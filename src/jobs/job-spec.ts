import { createHash } from "node:crypto";
import { z } from "zod";
import { stableJson } from "../core/reranker-base.js";

/**
 * What a distributed job runs, as data every worker can rebuild it from. Paths must be
 * reachable (the same path) from every worker: a shared volume in deploy/.
 */
export const evalJobSchema = z.strictObject({
  kind: z.literal("eval"),
  /** BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv), absolute. */
  dataset: z.string().min(1),
  split: z.string().min(1).default("test"),
  /** First stage as `--retriever` takes it (default bm25 over the dataset). */
  retriever: z.looseObject({ type: z.string().min(1) }).default({ type: "bm25" }),
  /** Reranker spec (`--reranker` and its options); none: the first stage's run. */
  reranker: z.looseObject({ type: z.string().min(1) }).optional(),
  depth: z.number().int().min(1).max(100_000).default(1000),
  candidates: z.number().int().min(1).max(100_000).default(100),
  /** Queries per chunk: the unit of retry and of progress. */
  chunkSize: z.number().int().min(1).max(100_000).default(50),
});

export type EvalJobSpec = z.infer<typeof evalJobSchema>;
export type JobSpec = EvalJobSpec;

export const jobSpecSchema = evalJobSchema;

/** A job's id is a hash of what it computes: submitting the same job twice names the same job (and its chunks), so nothing runs or is counted twice. */
export function jobIdOf(spec: JobSpec): string {
  return createHash("sha256").update(stableJson(spec)).digest("hex").slice(0, 16);
}
