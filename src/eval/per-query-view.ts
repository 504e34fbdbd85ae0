import type { EvaluationResult } from "./evaluate.js";
import { pairedQueries } from "./paired-queries.js";
import type { Qrels } from "./readers/qrels.js";
import { trecOrder, type RunEntry } from "./run.js";

/** One document of a top-k list as the per-query view shows it. */
export interface ViewedDocument {
  id: string;
  /** The judged grade; null when the document is unjudged (counted non-relevant). */
  grade: number | null;
  /** A short excerpt (title or the start of the text), when the caller has the documents. */
  excerpt?: string;
}

/** One query, both top-k lists side by side and how much the measure moved. */
export interface QueryView {
  query: string;
  text?: string;
  before: number;
  after: number;
  /** after − before. */
  delta: number;
  firstStage: ViewedDocument[];
  reranked: ViewedDocument[];
}

/** What a per-query view page shows: which two runs, which measure, every judged query. */
export interface PerQueryView {
  metric: string;
  k: number;
  /** Labels of the two runs ("bm25", "learned@50"). */
  before: string;
  after: string;
  /** Sorted by delta, most helped first (ties by query id), so the most hurt are last. */
  queries: QueryView[];
}

export interface PerQueryViewOptions {
  metric: string;
  before: string;
  after: string;
  /** Depth of the lists shown (default 10). */
  k?: number;
  /** Query id → text. */
  queryTexts?: ReadonlyMap<string, string>;
  /** Document id → excerpt (kept short by the caller: it is written into the page). */
  excerpts?: ReadonlyMap<string, string>;
}

function topK(entries: readonly RunEntry[] | undefined, k: number, judgments: ReadonlyMap<string, number> | undefined, excerpts?: ReadonlyMap<string, string>): ViewedDocument[] {
  return trecOrder(entries ?? [])
    .slice(0, k)
    .map((e) => {
      const doc: ViewedDocument = { id: e.docId, grade: judgments?.get(e.docId) ?? null };
      const excerpt = excerpts?.get(e.docId);
      if (excerpt !== undefined) doc.excerpt = excerpt;
      return doc;
    });
}

/**
 * The data of the per-query view: for each judged query, the top k of both runs (in the
 * order trec_eval ranks them) with their judged grades, and the measure before and after,
 * paired exactly as the lift and significance tests pair them.
 */
export function perQueryView(
  qrels: Qrels,
  beforeRun: ReadonlyMap<string, readonly RunEntry[]>,
  afterRun: ReadonlyMap<string, readonly RunEntry[]>,
  beforeEval: EvaluationResult,
  afterEval: EvaluationResult,
  options: PerQueryViewOptions,
): PerQueryView {
  const k = options.k ?? 10;
  const queries = pairedQueries(beforeEval, afterEval, options.metric).map((p): QueryView => {
    const judgments = qrels.get(p.query);
    const view: QueryView = {
      query: p.query,
      before: p.before,
      after: p.after,
      delta: p.delta,
      firstStage: topK(beforeRun.get(p.query), k, judgments, options.excerpts),
      reranked: topK(afterRun.get(p.query), k, judgments, options.excerpts),
    };
    const text = options.queryTexts?.get(p.query);
    if (text !== undefined) view.text = text;
    return view;
  });
  queries.sort((a, b) => b.delta - a.delta || (a.query < b.query ? -1 : a.query > b.query ? 1 : 0));
  return { metric: options.metric, k, before: options.before, after: options.after, queries };
}
