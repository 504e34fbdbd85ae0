import { loadBeirDataset, type BeirDataset } from "../eval/readers/beir.js";
import { runExperiment } from "../eval/experiment.js";
import type { Run } from "../eval/run.js";
import { createReranker, type RerankerSpec } from "../rerankers/registry.js";
import { createRetriever, type FirstStageRetriever, type RetrieverSpec } from "../retrieval/registry.js";
import type { Reranker } from "../core/types.js";
import type { EvalJobSpec } from "./job-spec.js";

/** A chunk's part of the final run: query id → [document id, score] in the run's order. */
export type EvalChunkResult = Record<string, Array<[string, number]>>;

/** The query ids of each chunk: the split's queries in file order, chunkSize at a time. */
export async function evalChunks(spec: EvalJobSpec): Promise<string[][]> {
  const dataset = await loadBeirDataset(spec.dataset, spec.split);
  const ids = dataset.queries.map((q, i) => q.id ?? String(i));
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += spec.chunkSize) out.push(ids.slice(i, i + spec.chunkSize));
  return out;
}

interface OpenedEval {
  dataset: BeirDataset;
  retriever: FirstStageRetriever;
  reranker?: Reranker;
}

/**
 * Runs eval chunks exactly as `winnow eval` runs the whole split (the same runExperiment
 * over the chunk's queries), keeping the dataset, first stage and reranker open between
 * chunks of one job.
 */
export class EvalChunkRunner {
  private opened = new Map<string, Promise<OpenedEval>>();

  private open(jobId: string, spec: EvalJobSpec): Promise<OpenedEval> {
    let p = this.opened.get(jobId);
    if (!p) {
      p = (async () => {
        const dataset = await loadBeirDataset(spec.dataset, spec.split);
        const retriever = await createRetriever(spec.retriever as RetrieverSpec, { dataset: spec.dataset });
        const reranker = spec.reranker ? await createReranker(spec.reranker as RerankerSpec, { index: retriever.corpusIndex, vectors: retriever.vectors }) : undefined;
        return { dataset, retriever, reranker };
      })();
      this.opened.set(jobId, p);
      p.catch(() => this.opened.delete(jobId));
    }
    return p;
  }

  async run(jobId: string, spec: EvalJobSpec, queryIds: readonly string[], signal?: AbortSignal): Promise<EvalChunkResult> {
    const { dataset, retriever, reranker } = await this.open(jobId, spec);
    const wanted = new Set(queryIds);
    const queries = dataset.queries.filter((q, i) => wanted.has(q.id ?? String(i)));
    // Only the run is kept: one sign flip keeps the (discarded) per-chunk lift test from costing more than the chunk; measures come from the merged run.
    const report = await runExperiment({ queries, qrels: dataset.qrels, firstStage: retriever, depth: spec.depth, reranker, candidates: spec.candidates, signal, trials: 1, metrics: ["ndcg_cut_10"] });
    return runToChunk(report.runs.final);
  }

  async close(): Promise<void> {
    for (const p of this.opened.values()) {
      const o = await p.catch(() => undefined);
      await o?.reranker?.close?.();
      await o?.retriever.close?.();
    }
    this.opened.clear();
  }
}

function runToChunk(run: Run): EvalChunkResult {
  const out: EvalChunkResult = {};
  for (const [qid, entries] of run) out[qid] = entries.map((e) => [e.docId, e.score]);
  return out;
}

/** The chunks' results as one run, queries in chunk order (the order `winnow eval` writes). */
export function mergeEvalChunks(chunks: readonly EvalChunkResult[]): Run {
  const run: Run = new Map();
  for (const chunk of chunks) for (const [qid, entries] of Object.entries(chunk)) run.set(qid, entries.map(([docId, score]) => ({ docId, score })));
  return run;
}
