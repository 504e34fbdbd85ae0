import type { Tokenizer } from "@huggingface/tokenizers";
import { WinnowError, throwIfAborted } from "../../core/errors.js";
import type { ScoringUnit } from "../../core/batch-scorer.js";
import { specialTokenCount, type PairTemplate } from "./pair-template.js";

/** One forward-pass row: a query with one window of one document, special tokens included. */
export interface PairUnit extends ScoringUnit {
  ids: Int32Array;
  typeIds: Uint8Array;
}

export interface WindowingOptions {
  /** Score at most this many windows per document and keep the max (default 4). */
  maxChunksPerDoc?: number;
  /** Tokens shared by consecutive windows (default 32). */
  windowOverlap?: number;
  /** Keep only the first window (plain truncation) instead of windowing. */
  truncate?: boolean;
  /** Cap each document at this many tokens before windowing. */
  maxTokensPerDoc?: number;
  /** "left" keeps the end of a long document (its last tokens and windows) instead of its start. */
  truncationDirection?: "right" | "left";
  signal?: AbortSignal;
}

export interface EncodedPairs {
  units: PairUnit[];
  owner: Int32Array;
  tokens: number;
}

export const DEFAULT_MAX_QUERY_TOKENS = 64;
export const DEFAULT_MAX_CHUNKS_PER_DOC = 4;
export const DEFAULT_WINDOW_OVERLAP = 32;

function positiveInt(value: unknown, field: string, min = 1): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new WinnowError("CONFIG_INVALID", `${field} must be an integer ≥ ${min}, got ${String(value)}`, { details: { field, min } });
  }
  return value;
}

/**
 * Encodes (query, document) pairs as the model was trained: query first, document
 * second, only the document truncated. The query is capped at `maxQueryTokens` so a
 * long query cannot starve the document; a document longer than what is left is
 * split into overlapping windows (at most `maxChunksPerDoc`), each a separate unit.
 */
export class PairEncoder {
  readonly maxLength: number;
  readonly maxQueryTokens: number;
  private readonly specials: number;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly template: PairTemplate,
    maxLength: number,
    maxQueryTokens = DEFAULT_MAX_QUERY_TOKENS,
  ) {
    this.maxLength = positiveInt(maxLength, "maxLength", 8);
    this.maxQueryTokens = positiveInt(maxQueryTokens, "maxQueryTokens");
    this.specials = specialTokenCount(template);
    if (this.maxLength - this.specials < 4) {
      throw new WinnowError("CONFIG_INVALID", `maxLength ${maxLength} leaves no room for text after ${this.specials} special tokens`, { details: { field: "maxLength" } });
    }
  }

  /** Token ids of a text without special tokens. */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** The query's tokens, capped so at least half of the sequence stays for the document. */
  encodeQuery(query: string): number[] {
    const ids = this.tokenize(query);
    const cap = Math.min(this.maxQueryTokens, Math.floor((this.maxLength - this.specials) / 2));
    return ids.length > cap ? ids.slice(0, cap) : ids;
  }

  encode(query: string, texts: readonly string[], options: WindowingOptions = {}): EncodedPairs {
    const maxChunks = options.truncate ? 1 : positiveInt(options.maxChunksPerDoc ?? DEFAULT_MAX_CHUNKS_PER_DOC, "maxChunksPerDoc");
    const maxDocTokens = options.maxTokensPerDoc === undefined ? Infinity : positiveInt(options.maxTokensPerDoc, "maxTokensPerDoc");
    const q = this.encodeQuery(query);
    const budget = this.maxLength - this.specials - q.length;
    // The default overlap shrinks with short sequences; an explicit one is checked.
    const overlap =
      options.windowOverlap === undefined ? Math.min(DEFAULT_WINDOW_OVERLAP, Math.floor(budget / 4)) : positiveInt(options.windowOverlap, "windowOverlap", 0);
    if (maxChunks > 1 && overlap >= budget / 2) {
      throw new WinnowError("CONFIG_INVALID", `windowOverlap ${overlap} must be below half the document budget (${Math.floor(budget / 2)} tokens at maxLength ${this.maxLength})`, {
        details: { field: "windowOverlap", max: Math.floor(budget / 2) - 1 },
      });
    }
    const stride = budget - overlap;
    const left = options.truncationDirection === "left";
    const units: PairUnit[] = [];
    const owners: number[] = [];
    let tokens = 0;
    for (let i = 0; i < texts.length; i++) {
      // Tokenizing 100 documents takes a few milliseconds; checking here keeps an abort prompt.
      if ((i & 15) === 0) throwIfAborted(options.signal);
      let d = this.tokenize(texts[i]);
      if (d.length > maxDocTokens) d = left ? d.slice(d.length - maxDocTokens) : d.slice(0, maxDocTokens);
      const starts: number[] = [0];
      if (d.length > budget && maxChunks > 1) {
        for (let s = stride; starts.length < maxChunks && s + overlap < d.length; s += stride) {
          // The last window ends at the document's end rather than running short.
          starts.push(Math.min(s, d.length - budget));
        }
      }
      for (const s of starts) {
        const end = Math.min(d.length, s + budget);
        // Starts count from the kept end: for "left", mirror each window onto the document.
        const unit = left ? this.pairUnit(q, d, d.length - end, d.length - s) : this.pairUnit(q, d, s, end);
        units.push(unit);
        owners.push(i);
        tokens += unit.tokens;
      }
    }
    return { units, owner: Int32Array.from(owners), tokens };
  }

  private pairUnit(q: number[], d: number[], from: number, to: number): PairUnit {
    const t = this.template;
    const n = this.specials + q.length + (to - from);
    const ids = new Int32Array(n);
    const typeIds = new Uint8Array(n);
    let p = 0;
    const put = (id: number, type: number) => {
      ids[p] = id;
      typeIds[p++] = type;
    };
    for (let k = 0; k < t.prefix.length; k++) put(t.prefix[k], t.prefixTypes[k]);
    for (const id of q) put(id, t.typeA);
    for (let k = 0; k < t.middle.length; k++) put(t.middle[k], t.middleTypes[k]);
    for (let k = from; k < to; k++) put(d[k], t.typeB);
    for (let k = 0; k < t.suffix.length; k++) put(t.suffix[k], t.suffixTypes[k]);
    return { ids, typeIds, tokens: n };
  }
}
