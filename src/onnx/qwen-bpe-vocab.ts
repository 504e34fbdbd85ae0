/**
 * A byte-level BPE vocabulary and merge list for generated decoder (Qwen-style) and
 * ModernBERT models. Their real vocabularies (151k and 50k pieces) are not available
 * offline, so the merges are derived from bert-base-uncased's word list: for each word,
 * in vocabulary order, the chain of merges that builds "Ġword" left to right ("Ġ" is
 * GPT-2's byte-level space), word-initial chains ranked before continuation pieces, so a
 * common word becomes one token as in the real vocabularies. All 256 byte symbols are in
 * the vocabulary, so any text (CJK, Arabic, emoji) tokenizes without an unknown token.
 */
import { bertBaseUncasedVocab } from "./tokenizer-files.js";

/** GPT-2's reversible byte → printable-character map (bytes_to_unicode). */
export function byteToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) map[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  return map;
}

export interface BpeVocab {
  /** piece → id, ids 0..n-1 in rank order (bytes first). */
  vocab: Record<string, number>;
  /** "left right" pairs, best (lowest rank) first. */
  merges: Array<[string, string]>;
  size: number;
}

/** Words decoder rerankers read a label from: each is built as a single bare token. */
export const LABEL_WORDS = ["yes", "no", "Yes", "No", "true", "false"];

let cached: BpeVocab | undefined;

/** The vocabulary, deterministic: same pieces, same ids on every machine. */
export function byteLevelBpeVocab(): BpeVocab {
  if (cached) return cached;
  const bytes = byteToUnicode();
  const enc = new TextEncoder();
  const toSymbols = (s: string) => Array.from(enc.encode(s), (b) => bytes[b]);
  const vocab: Record<string, number> = {};
  const merges: Array<[string, string]> = [];
  let next = 0;
  for (const b of bytes) vocab[b] = next++;
  const addChain = (symbols: string[]) => {
    let current = symbols[0];
    for (let k = 1; k < symbols.length; k++) {
      const merged = current + symbols[k];
      if (vocab[merged] === undefined) {
        merges.push([current, symbols[k]]);
        vocab[merged] = next++;
      }
      current = merged;
    }
  };
  const words = bertBaseUncasedVocab().filter((t) => !/^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/.test(t));
  const initial = words.filter((w) => !w.startsWith("##"));
  const continuation = words.filter((w) => w.startsWith("##")).map((w) => w.slice(2));
  // Word-initial pieces, then capitalized forms of the first 2,000; then bare words, the
  // rerankers' label words first (each must be one token, as in the real vocabularies), then
  // 3,000 continuation pieces and the first 3,000 words without a space (about 40k pieces:
  // enough for whole-word English, small enough for tiny test models).
  for (const w of initial.slice(0, 12000)) addChain(toSymbols(` ${w}`));
  for (const w of initial.slice(0, 2000)) if (/^[a-z]/.test(w)) addChain(toSymbols(` ${w[0].toUpperCase()}${w.slice(1)}`));
  for (const w of [...LABEL_WORDS, ...continuation.slice(0, 3000), ...initial.slice(0, 3000)]) addChain(toSymbols(w));
  cached = { vocab, merges, size: next };
  return cached;
}
