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

const cuts = z.tuple([z.number(), z.number(), z.number()]);

/** `winnow label` as a job: the reranker (usually an LLM judge) grades each query's first-stage candidates. */
export const labelJobSchema = z.strictObject({
  kind: z.literal("label"),
  dataset: z.string().min(1),
  split: z.string().min(1).default("train"),
  retriever: z.looseObject({ type: z.string().min(1) }).default({ type: "bm25" }),
  reranker: z.looseObject({ type: z.string().min(1) }),
  candidates: z.number().int().min(1).max(10_000).default(20),
  /** Label only the first n queries of the split (cost control), as `winnow label --max-queries`. */
  maxQueries: z.number().int().min(1).optional(),
  grading: z.enum(["rank", "score"]).default("rank"),
  /** Rank grading: positions earning 3, 2, 1; score grading: lowest scores earning them. */
  cuts: cuts.default([1, 3, 10]),
  chunkSize: z.number().int().min(1).max(100_000).default(20),
});

export type EvalJobSpec = z.infer<typeof evalJobSchema>;
export type LabelJobSpec = z.infer<typeof labelJobSchema>;
export type JobSpec = EvalJobSpec | LabelJobSpec;

export const jobSpecSchema = z.discriminatedUnion("kind", [evalJobSchema, labelJobSchema]);

/** A job's id is a hash of what it computes: submitting the same job twice names the same job (and its chunks), so nothing runs or is counted twice. */
export function jobIdOf(spec: JobSpec): string {
  return createHash("sha256").update(stableJson(spec)).digest("hex").slice(0, 16);
}
