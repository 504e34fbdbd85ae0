/**
 * A forward-only iterator over one query term's postings, with the block-max
 * metadata that dynamic pruning (pruning/*.ts) needs to skip what cannot enter a
 * top k. Any postings store implements it: the in-memory index (memory-cursor) and
 * the binary segment reader alike, so the pruned top-k does not know which.
 *
 * Doc ids are the index's internal document numbers, ascending; a cursor starts
 * before its first posting (docId() === -1) and ends on NO_MORE_DOCS.
 *
 * Contract that keeps pruning exact:
 * - score() MUST be the very function exhaustive scoring uses for this term:
 *   luceneBm25Score(weight, freq, normInverse[norm]) with weight = Math.fround(boost · idf),
 *   returning the same float32 value bit for bit. The pruned search sums these in
 *   the clause order exhaustive search uses, so totals are identical too.
 * - maxScore() ≥ score() of every posting; blockMaxScore() ≥ score() of every
 *   posting in the current block (the postings up to and including blockLastDoc()).
 *   Looser bounds cost speed, never correctness; a bound below a real score would
 *   lose hits.
 */
export const NO_MORE_DOCS = 0x7fffffff;

export interface PostingsCursor {
  /** Number of documents containing the term (its df), a cost estimate for ordering cursors. */
  readonly docFrequency: number;
  /** Upper bound of score() over all of this term's postings (weight included). */
  maxScore(): number;
  /**
   * Optional lower bound of score() over this term's postings (weight included). With
   * it the pruned search can prove that double sums in any order are exact (no rounding
   * when the largest possible sum over the smallest contribution is below 2^29) and skip
   * re-summing in clause order; without it every hit offered is re-summed.
   */
  minScore?(): number;
  /** Current document, -1 before the first next()/advance(), NO_MORE_DOCS when exhausted. */
  docId(): number;
  /** Moves to the next posting; returns its document or NO_MORE_DOCS. */
  next(): number;
  /** Moves to the first posting with document ≥ target (never backwards); returns it or NO_MORE_DOCS. */
  advance(target: number): number;
  /** This term's BM25 contribution to docId() times the query term's weight; see the contract above. */
  score(): number;
  /**
   * Moves the block metadata (not the current posting) to the block that would hold
   * target: afterwards blockLastDoc() ≥ target and blockMaxScore() bounds that block,
   * without decoding it. Never moves backwards. Lucene's ImpactsEnum.advanceShallow.
   */
  shallowAdvance(target: number): void;
  /** Upper bound of score() over the current (shallow) block. */
  blockMaxScore(): number;
  /** Last document of the current (shallow) block; NO_MORE_DOCS past the last block (whose blockMaxScore() is 0). */
  blockLastDoc(): number;
}
