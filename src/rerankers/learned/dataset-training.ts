import { InvalidInputError } from "../../core/errors.js";
import type { Query } from "../../core/types.js";
import { loadBeirDataset, readCorpus, readQueries } from "../../eval/readers/beir.js";
import { readQrels, type Qrels } from "../../eval/readers/qrels.js";
import { Bm25Index } from "../../retrieval/bm25/bm25-index.js";
import { Rm3Retriever } from "../../retrieval/bm25/rm3.js";
import { indexCorpusView } from "./corpus-view.js";
import { FeatureExtractor } from "./features.js";
import { prepareQueries, type PreparedQuery } from "./training.js";

/** A BEIR folder made ready for training: its BM25 index and the judged queries with features. */
export interface PreparedDataset {
  index: Bm25Index;
  queries: PreparedQuery[];
  qrels: Qrels;
  indexMs: number;
  featureMs: number;
}

export interface PrepareDatasetOptions {
  dir: string;
  split: string;
  /** Judgments to learn from instead of qrels/<split>.tsv (e.g. LLM labels from `winnow label`). */
  qrelsFile?: string;
  candidates: number;
  features: readonly string[];
  /** Reuse an index already built over the same folder. */
  index?: Bm25Index;
  onStage?: (stage: string) => void;
  onQuery?: (done: number, total: number) => void;
}

/** The judged queries of a split, or of a qrels file over the folder's queries. */
export async function judgedQueries(dir: string, split: string, qrelsFile?: string): Promise<{ queries: Query[]; qrels: Qrels }> {
  if (!qrelsFile) {
    const ds = await loadBeirDataset(dir, split);
    return { queries: ds.queries, qrels: ds.qrels };
  }
  const qrels = await readQrels(qrelsFile);
  const all = await readQueries(dir);
  const queries: Query[] = [];
  for (const qid of qrels.keys()) {
    const q = all.get(qid);
    if (!q) throw new InvalidInputError(`${qrelsFile}: query id "${qid}" is not in ${dir}/queries.jsonl`, { field: "qrels", file: qrelsFile });
    queries.push(q);
  }
  if (queries.length === 0) throw new InvalidInputError(`${qrelsFile}: no judged queries`, { field: "qrels", file: qrelsFile });
  return { queries, qrels };
}

export async function buildDatasetIndex(dir: string): Promise<Bm25Index> {
  return Bm25Index.build(readCorpus(dir));
}

export async function prepareDataset(options: PrepareDatasetOptions): Promise<PreparedDataset> {
  const { queries, qrels } = await judgedQueries(options.dir, options.split, options.qrelsFile);
  const t0 = performance.now();
  options.onStage?.("indexing");
  const index = options.index ?? (await buildDatasetIndex(options.dir));
  const indexMs = performance.now() - t0;
  options.onStage?.("features");
  const t1 = performance.now();
  const extractor = new FeatureExtractor(options.features);
  // The RM3 expansion, as LearnedReranker computes it at rerank time over the same index.
  const rm3 = extractor.readsRm3 ? new Rm3Retriever(index) : undefined;
  const prepared = await prepareQueries(
    queries,
    qrels,
    (q, k) => index.search(q, k),
    indexCorpusView(index),
    extractor,
    options.candidates,
    options.onQuery,
    rm3 ? async (q) => ({ rm3Terms: await rm3.expand(q) }) : undefined,
  );
  return { index, queries: prepared, qrels, indexMs, featureMs: performance.now() - t1 };
}
