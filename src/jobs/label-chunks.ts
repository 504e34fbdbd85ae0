import { gradeRanking, isUnscored } from "../cli/commands/label.js";
import type { Candidate, Query, Reranker } from "../core/types.js";
import { writeStreamAtomic } from "../core/atomic-file.js";
import { loadBeirDataset } from "../eval/readers/beir.js";
import { createReranker, type RerankerSpec } from "../rerankers/registry.js";
import { createRetriever, type FirstStageRetriever, type RetrieverSpec } from "../retrieval/registry.js";
import type { LabelJobSpec } from "./job-spec.js";

/** A chunk's labels: query id → [document id, grade], and what it could not label. */
export interface LabelChunkResult {
  labels: Record<string, Array<[string, number]>>;
  degraded: number;
  unscored: number;
}

async function labelQueries(spec: LabelJobSpec): Promise<Query[]> {
  const all = (await loadBeirDataset(spec.dataset, spec.split)).queries;
  return spec.maxQueries ? all.slice(0, spec.maxQueries) : all;
}

export async function labelChunks(spec: LabelJobSpec): Promise<string[][]> {
  const ids = (await labelQueries(spec)).map((q, i) => q.id ?? String(i));
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += spec.chunkSize) out.push(ids.slice(i, i + spec.chunkSize));
  return out;
}

interface OpenedLabel {
  queries: Map<string, Query>;
  retriever: FirstStageRetriever;
  reranker: Reranker;
}

/** Labels chunks as `winnow label` labels the split: the same retrieval, judgment and grading per query. */
export class LabelChunkRunner {
  private opened = new Map<string, Promise<OpenedLabel>>();

  private open(jobId: string, spec: LabelJobSpec): Promise<OpenedLabel> {
    let p = this.opened.get(jobId);
    if (!p) {
      p = (async () => {
        const queries = new Map((await labelQueries(spec)).map((q, i) => [q.id ?? String(i), q]));
        const retriever = await createRetriever(spec.retriever as RetrieverSpec, { dataset: spec.dataset });
        const reranker = await createReranker(spec.reranker as RerankerSpec, { index: retriever.corpusIndex, vectors: retriever.vectors });
        return { queries, retriever, reranker };
      })();
      this.opened.set(jobId, p);
      p.catch(() => this.opened.delete(jobId));
    }
    return p;
  }

  async run(jobId: string, spec: LabelJobSpec, queryIds: readonly string[]): Promise<LabelChunkResult> {
    const { queries, retriever, reranker } = await this.open(jobId, spec);
    const out: LabelChunkResult = { labels: {}, degraded: 0, unscored: 0 };
    for (const qid of queryIds) {
      const query = queries.get(qid)!;
      const candidates: Candidate[] = await retriever.search(query, spec.candidates);
      if (candidates.length === 0) continue;
      const ranked = await reranker.rerank(query, candidates, { returnDocuments: false });
      // A degraded answer is the first stage's order, not the judge's: never a label (as winnow label).
      if (ranked.some((r) => r.details?.degraded === true)) {
        out.degraded++;
        continue;
      }
      out.unscored += ranked.filter(isUnscored).length;
      out.labels[qid] = gradeRanking(ranked, spec.grading, spec.cuts).map((l) => [l.id, l.grade]);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const p of this.opened.values()) {
      const o = await p.catch(() => undefined);
      await o?.reranker.close?.();
      await o?.retriever.close?.();
    }
    this.opened.clear();
  }
}

/** Writes the chunks' labels as the qrels `winnow label --out` writes: header, then queries in split order. */
export async function writeLabelChunks(out: string, chunkQueries: readonly string[][], chunks: readonly LabelChunkResult[]): Promise<{ rows: number; labelled: number; degraded: number; unscored: number }> {
  let rows = 0;
  let labelled = 0;
  await writeStreamAtomic(out, async (line) => {
    await line("query-id\tcorpus-id\tscore\n");
    chunks.forEach((chunk, c) => {
      for (const qid of chunkQueries[c]) {
        const labels = chunk.labels[qid];
        if (labels?.length) labelled++;
      }
    });
    for (const [c, chunk] of chunks.entries()) {
      for (const qid of chunkQueries[c]) {
        for (const [doc, grade] of chunk.labels[qid] ?? []) {
          await line(`${qid}\t${doc}\t${grade}\n`);
          rows++;
        }
      }
    }
  });
  return { rows, labelled, degraded: chunks.reduce((a, c) => a + c.degraded, 0), unscored: chunks.reduce((a, c) => a + c.unscored, 0) };
}
