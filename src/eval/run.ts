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
 * strcmp order of two ids. strcmp compares UTF-8 bytes, which orders like Unicode
 * code points; JavaScript's `<` compares UTF-16 code units, which differs only when
 * a surrogate pair meets a character in U+E000–U+FFFF, so those units are remapped.
 */
export function compareIdsByteOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The order trec_eval ranks a query's documents in: score descending, ties by
 * document id in descending strcmp order. The rank column of a run file is ignored,
 * exactly as trec_eval ignores it. Returns a new array.
 */
export function trecOrder<T extends RunEntry>(entries: readonly T[]): T[] {
  return [...entries].sort((p, q) => (p.score > q.score ? -1 : p.score < q.score ? 1 : compareIdsByteOrder(q.docId, p.docId)));
}
