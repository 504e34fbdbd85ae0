import type { BatchScorer, PrepareOptions, PreparedRequest, ScoringUnit } from "../../src/core/batch-scorer.js";
import { throwIfAborted } from "../../src/core/errors.js";
import { toCandidates, toQuery } from "../../src/core/inputs.js";
import { rankByScores } from "../../src/core/ranking.js";
import type { CandidateInput, QueryInput, RankedResult, Reranker, RerankOptions } from "../../src/core/types.js";

/**
 * A deterministic stand-in for a cross-encoder, for scheduling tests: a unit's logit
 * is the number of query words in its window minus 1, a forward pass takes
 * `delayMs` (a timer, like ORT's off-thread run), and every batch is recorded.
 */
export interface LexicalUnit extends ScoringUnit {
  requestTag: string;
  words: string[];
  queryWords: Set<string>;
}

const wordsOf = (s: string) => s.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);

export class LexicalBatchScorer implements BatchScorer<LexicalUnit> {
  readonly id = "lexical-test";
  readonly batches: Array<{ tags: string[]; size: number }> = [];
  failNext = false;
  constructor(
    readonly maxBatchTokens = 4096,
    public delayMs = 5,
    private readonly windowWords = 16,
  ) {}

  async prepare(query: string, texts: readonly string[], options: PrepareOptions = {}): Promise<PreparedRequest<LexicalUnit>> {
    const t0 = performance.now();
    const queryWords = new Set(wordsOf(query));
    const units: LexicalUnit[] = [];
    const owner: number[] = [];
    let tokens = 0;
    texts.forEach((text, i) => {
      throwIfAborted(options.signal);
      let words = wordsOf(text);
      // Left truncation keeps the end: window the reversed words (order within a window does not change its score).
      if (options.truncationDirection === "left") words.reverse();
      if (options.maxTokensPerDoc) words = words.slice(0, options.maxTokensPerDoc);
      const windows: string[][] = [];
      if (options.truncate || words.length <= this.windowWords) windows.push(words.slice(0, this.windowWords));
      else for (let s = 0; s < words.length; s += this.windowWords) windows.push(words.slice(s, s + this.windowWords));
      const kept = options.maxChunksPerDoc ? windows.slice(0, options.maxChunksPerDoc) : windows;
      for (const w of kept) {
        const t = queryWords.size + w.length + 3;
        units.push({ tokens: t, words: w, queryWords, requestTag: query });
        owner.push(i);
        tokens += t;
      }
    });
    return { units, owner: Int32Array.from(owner), texts: texts.length, tokens, tokenizeMs: performance.now() - t0 };
  }

  async scoreUnits(units: readonly LexicalUnit[], signal?: AbortSignal): Promise<Float32Array> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error("simulated inference failure");
    }
    this.batches.push({ tags: units.map((u) => u.requestTag), size: units.length });
    await new Promise((r) => setTimeout(r, this.delayMs));
    throwIfAborted(signal);
    return Float32Array.from(units, (u) => u.words.filter((w) => u.queryWords.has(w)).length - 1);
  }

  normalize(logit: number): number {
    return 1 / (1 + Math.exp(-logit));
  }
}

/** A batchable reranker over the lexical scorer, scoring sequentially like an offline caller would. */
export class LexicalReranker implements Reranker {
  readonly name = "lexical-test";
  constructor(readonly batchScorer = new LexicalBatchScorer()) {}
  async rerank(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    const q = toQuery(query);
    const cands = toCandidates(candidates);
    const prepared = await this.batchScorer.prepare(q.text, cands.map((c) => c.document.text));
    const logits = await this.batchScorer.scoreUnits(prepared.units);
    const best = new Array<number>(cands.length).fill(-Infinity);
    prepared.owner.forEach((t, u) => (best[t] = Math.max(best[t], logits[u])));
    return rankByScores(cands, best.map((x) => this.batchScorer.normalize(x)), options);
  }
}

/** A reranker without a BatchScorer (like an LLM or hosted API): counts words, slowly. */
export class SlowPlainReranker implements Reranker {
  readonly name = "plain-test";
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly delayMs = 20) {}
  async rerank(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    const q = toQuery(query);
    const cands = toCandidates(candidates);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      throwIfAborted(options.signal);
      const qw = new Set(wordsOf(q.text));
      return rankByScores(cands, cands.map((c) => wordsOf(c.document.text).filter((w) => qw.has(w)).length), options);
    } finally {
      this.inFlight--;
    }
  }
}
