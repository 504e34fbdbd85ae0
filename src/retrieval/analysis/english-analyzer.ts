import { PorterStemmer } from "./porter-stemmer.js";
import { DEFAULT_MAX_TOKEN_LENGTH, StandardTokenizer } from "./standard-tokenizer.js";
import { TokenMemo } from "./token-memo.js";

/** Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (33 words), the set Anserini uses for BEIR. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
  "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
]);

export interface EnglishAnalyzerOptions {
  /** Words dropped after lowercasing (default: Lucene's 33-word English set; pass an empty set to keep all). */
  stopWords?: Iterable<string>;
  /** Porter stemming (default true). */
  stem?: boolean;
  maxTokenLength?: number;
}

/**
 * The analysis chain of Lucene's EnglishAnalyzer as Anserini runs it for BEIR:
 * StandardTokenizer → EnglishPossessiveFilter → LowerCaseFilter → StopFilter →
 * PorterStemFilter. Index and queries must go through the same instance settings.
 */
export class EnglishAnalyzer {
  private readonly tokenizer: StandardTokenizer;
  private readonly stopWords: ReadonlySet<string>;
  private readonly stemmer: PorterStemmer | undefined;
  // Vocabularies are small next to token streams, so the possessive+lowercase+stop+stem
  // step is memoised per surface form (see TokenMemo for why not a Map).
  private readonly memo = new TokenMemo<string | null>();
  private readonly filterToken = (token: string): string | null => this.filter(token);

  constructor(options: EnglishAnalyzerOptions = {}) {
    this.tokenizer = new StandardTokenizer(options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH);
    this.stopWords = options.stopWords === undefined ? ENGLISH_STOP_WORDS : new Set(options.stopWords);
    this.stemmer = options.stem === false ? undefined : new PorterStemmer();
  }

  /** The indexed terms of `text`, in order (stop words removed). */
  analyze(text: string): string[] {
    const out: string[] = [];
    this.forEachTerm(text, (t) => out.push(t));
    return out;
  }

  forEachTerm(text: string, emit: (term: string) => void): void {
    this.tokenizer.forEachTokenRange(text, (start, end) => {
      const term = this.memo.get(text, start, end, this.filterToken);
      if (term !== null) emit(term);
    });
  }

  /**
   * The raw tokenizer pass: [start, end) of every token before filtering. With
   * `termOfToken`, lets an indexer memoise its own per-token results (term ids).
   */
  forEachTokenRange(text: string, emit: (start: number, end: number) => void): void {
    this.tokenizer.forEachTokenRange(text, emit);
  }

  /** The term one token becomes, or null when it is dropped (stop word). */
  termOfToken(token: string): string | null {
    return this.filter(token);
  }

  /** Possessive → lowercase → stop → stem for one token; null when the token is dropped. */
  private filter(token: string): string | null {
    const lower = lowerCaseLikeLucene(stripPossessive(token));
    if (this.stopWords.has(lower)) return null;
    return this.stemmer ? this.stemmer.stem(lower) : lower;
  }
}

/** EnglishPossessiveFilter: drops a trailing 's / ’s / ＇s (either case of s). */
export function stripPossessive(token: string): string {
  const n = token.length;
  if (n >= 2) {
    const last = token.charCodeAt(n - 1);
    if (last === 0x73 || last === 0x53) {
      const q = token.charCodeAt(n - 2);
      if (q === 0x27 || q === 0x2019 || q === 0xff07) return token.slice(0, n - 2);
    }
  }
  return token;
}

const lowerCache = new Map<number, string>();

/**
 * Lucene's LowerCaseFilter lowercases code point by code point (Character.toLowerCase),
 * unlike String.prototype.toLowerCase, which applies context (final sigma) and
 * multi-character mappings (İ → i̇).
 */
export function lowerCaseLikeLucene(token: string): string {
  let ascii = true;
  for (let i = 0; i < token.length; i++) {
    if (token.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return token.toLowerCase();
  let out = "";
  for (const ch of token) {
    const cp = ch.codePointAt(0)!;
    let lower = lowerCache.get(cp);
    if (lower === undefined) {
      lower = ch.toLowerCase();
      // Only U+0130 has a multi-character lowercase; Java's simple mapping gives plain i.
      if ([...lower].length !== 1) lower = cp === 0x130 ? "i" : ch;
      lowerCache.set(cp, lower);
    }
    out += lower;
  }
  return out;
}
