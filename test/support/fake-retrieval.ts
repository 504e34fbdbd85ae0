import type { Candidate, CandidateInput, Document, Query, QueryInput, RankedResult, Reranker, RerankOptions, Retriever, SearchOptions } from "../../src/core/types.js";
import { toCandidates, toQuery } from "../../src/core/inputs.js";
import { rankByScores } from "../../src/core/ranking.js";
import { matchesMetadataFilter } from "../../src/retrieval/pools/metadata-filter.js";

/** A retriever returning documents in a fixed order with fixed scores (test double for BM25/dense). */
export class FixedRetriever implements Retriever {
  calls = 0;
  constructor(
    readonly name: string,
    private readonly ranked: Array<{ doc: Document; score: number }>,
    private readonly delayMs = 0,
  ) {}
  async search(_q: QueryInput, k: number, options: SearchOptions = {}): Promise<Candidate[]> {
    this.calls++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return this.ranked
      .filter((r) => matchesMetadataFilter(r.doc.metadata, options.filter))
      .slice(0, k)
      .map((r, i) => ({ document: r.doc, score: r.score, rank: i + 1, scores: { [this.name]: r.score } }));
  }
}

/**
 * A pointwise reranker whose score is a known function of the document, with a known
 * cost per candidate (busy-waits, so timing behaves like real CPU-bound inference).
 */
export class ScriptedReranker implements Reranker {
  scoredTexts: string[] = [];
  calls = 0;
  /** Wall time of each rerank call, for checking a budget "within one batch". */
  callMs: number[] = [];
  constructor(
    readonly name: string,
    private readonly scoreOf: (doc: Document, query: Query) => number,
    private readonly msPerCandidate = 0,
  ) {}
  async rerank(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    this.calls++;
    const q = toQuery(query);
    const cands = toCandidates(candidates);
    const started = performance.now();
    const until = started + this.msPerCandidate * cands.length;
    while (performance.now() < until) {
      // burn CPU like a model forward pass would
    }
    // yield so timers (deadlines) can run, as a real async model call would
    await new Promise((r) => setImmediate(r));
    const scores = cands.map((c) => {
      this.scoredTexts.push(c.document.text);
      return this.scoreOf(c.document, q);
    });
    this.callMs.push(performance.now() - started);
    return rankByScores(cands, scores, options);
  }
}

export function docs(n: number, meta: (i: number) => Record<string, unknown> = () => ({})): Document[] {
  return Array.from({ length: n }, (_, i) => ({ id: `d${i}`, text: `document ${i}`, metadata: meta(i) }));
}
