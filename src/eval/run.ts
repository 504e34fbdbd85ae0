// strcmp compares UTF-8 bytes, i.e. Unicode code point order: the same order Lucene
// sorts ids in, so the BM25 index's comparator is the one trec_eval's tie-break needs.
import { compareIdsCodePoint } from "../core/id-order.js";

/** One retrieved document of a run: its id and the score the system gave it. */
export interface RunEntry {
  docId: string;
  score: number;
}

/**
 * A retrieval run: query id → retrieved documents. Order within a query does not
 * matter: evaluation ranks by score as trec_eval does (see `trecOrder`).
 */
export type Run = Map<string, RunEntry[]>;

/**
 * The order trec_eval ranks a query's documents in: score descending, ties by
 * document id in descending strcmp order. The rank column of a run file is ignored,
 * exactly as trec_eval ignores it. Returns a new array.
 */
export function trecOrder<T extends RunEntry>(entries: readonly T[]): T[] {
  return [...entries].sort((p, q) => (p.score > q.score ? -1 : p.score < q.score ? 1 : compareIdsCodePoint(q.docId, p.docId)));
}
