import { WordBreakClass as C, wordBreakClass } from "./word-break-classes.js";

/** Lucene's default maximum token length (StandardAnalyzer.DEFAULT_MAX_TOKEN_LENGTH). */
export const DEFAULT_MAX_TOKEN_LENGTH = 255;

/**
 * Lucene's StandardTokenizer (the JFlex grammar in StandardTokenizerImpl.jflex):
 * Unicode word segmentation (UAX#29) keeping only segments that contain letters or
 * digits, so `1,000`, `3.5`, `don't`, `U.S.A` and `a:b` stay one token while
 * punctuation, whitespace and symbols are dropped; each Han ideograph and each
 * Hiragana character is its own token; Thai/Lao/Khmer/Myanmar runs stay whole.
 * Tokens longer than `maxTokenLength` are cut into pieces of that length, as
 * Lucene 8's scanner buffer does. Written by hand: it is the product's core and
 * runs over every indexed character.
 */
export class StandardTokenizer {
  constructor(readonly maxTokenLength = DEFAULT_MAX_TOKEN_LENGTH) {}

  tokenize(text: string): string[] {
    const out: string[] = [];
    this.forEachToken(text, (t) => out.push(t));
    return out;
  }

  forEachToken(text: string, emit: (token: string) => void): void {
    this.forEachTokenRange(text, (start, end) => emit(text.slice(start, end)));
  }

  /** Like forEachToken but hands over [start, end) offsets, so callers can skip building strings. */
  forEachTokenRange(text: string, emit: (start: number, end: number) => void): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      const cp = codePointAt(text, i);
      const len = cp > 0xffff ? 2 : 1;
      const cls = wordBreakClass(cp);
      let end = -1;
      switch (cls) {
        case C.ALetter:
        case C.HebrewLetter:
        case C.Numeric:
        case C.Katakana:
        case C.ExtendNumLet:
          end = scanWord(text, i, cls, len);
          break;
        case C.Ideographic:
        case C.Hiragana:
          end = skipExtend(text, i + len);
          break;
        case C.ComplexContext:
        case C.ComplexContextMark: {
          end = i + len;
          while (end < n) {
            const c2 = codePointAt(text, end);
            const k = wordBreakClass(c2);
            if (k !== C.ComplexContext && k !== C.ComplexContextMark && k !== C.Extend) break;
            end += c2 > 0xffff ? 2 : 1;
          }
          break;
        }
        case C.Emoji:
        case C.EmojiModifier:
          end = scanEmoji(text, i, i + len);
          break;
        case C.Extend:
          // WB3c: a ZWJ before a pictograph starts an emoji token.
          if (cp === 0x200d && i + 1 < n && wordBreakClass(codePointAt(text, i + 1)) === C.Emoji) {
            const next = codePointAt(text, i + 1);
            end = scanEmoji(text, i + 1, i + 1 + (next > 0xffff ? 2 : 1));
          }
          break;
        case C.RegionalIndicator: {
          // A flag is a pair of regional indicators (WB15/16); a lone one is dropped.
          const j = skipExtend(text, i + len);
          if (j < n && wordBreakClass(codePointAt(text, j)) === C.RegionalIndicator) end = skipExtend(text, j + 2);
          break;
        }
        default:
          break;
      }
      if (end < 0) {
        i += len;
        continue;
      }
      this.emitPieces(i, end, emit);
      i = end;
    }
  }

  private emitPieces(start: number, end: number, emit: (start: number, end: number) => void): void {
    const max = this.maxTokenLength;
    while (end - start > max) {
      emit(start, start + max);
      start += max;
    }
    emit(start, end);
  }
}

function codePointAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/** WB4: Extend, Format and ZWJ attach to what precedes them. */
function skipExtend(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const cp = codePointAt(text, i);
    const c = wordBreakClass(cp);
    if (c !== C.Extend && c !== C.ComplexContextMark) break;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

const RE_MODIFIER_BASE = /^\p{Emoji_Modifier_Base}$/u;

function isModifierBase(cp: number): boolean {
  return RE_MODIFIER_BASE.test(String.fromCodePoint(cp));
}

/** End of the emoji token starting at `start` whose first character ends at `i`. */
function scanEmoji(text: string, start: number, i: number): number {
  let end: number;
  if (wordBreakClass(codePointAt(text, start)) === C.EmojiModifier) {
    // A lone skin-tone modifier takes following marks except VS16 (U+FE0F), as Lucene does.
    end = i;
    while (end < text.length && text.charCodeAt(end) !== 0xfe0f) {
      const next = skipExtend(text, end);
      if (next === end) break;
      end += text.codePointAt(end)! > 0xffff ? 2 : 1;
    }
  } else {
    end = skipExtend(text, i);
  }
  // Emoji modifier sequences (👍🏽): a skin tone joins an Emoji_Modifier_Base only.
  if (end < text.length && wordBreakClass(codePointAt(text, end)) === C.EmojiModifier && isModifierBase(codePointAt(text, start))) {
    end = skipExtend(text, end + 2);
  }
  // WB3c: ZWJ × pictograph keeps ZWJ sequences (family emoji…) whole.
  while (end < text.length && text.charCodeAt(end - 1) === 0x200d) {
    const cp = codePointAt(text, end);
    if (wordBreakClass(cp) !== C.Emoji) break;
    end = skipExtend(text, end + (cp > 0xffff ? 2 : 1));
  }
  return end;
}

function isLetter(c: C): boolean {
  return c === C.ALetter || c === C.HebrewLetter;
}

/**
 * Longest word starting at `start`: letters, digits, Katakana and connectors joined
 * by WB5–WB13b, with MidLetter/MidNum/MidNumLet/quotes kept only between two
 * characters they may join (WB6/7, WB7a–c, WB11/12). Returns -1 when the run holds
 * only connectors (`___`), which the grammar does not count as a word.
 */
function scanWord(text: string, start: number, firstClass: C, firstLen: number): number {
  const n = text.length;
  let prev = firstClass;
  let hasCore = firstClass !== C.ExtendNumLet;
  let j = skipExtend(text, start + firstLen);
  while (j < n) {
    const cp = codePointAt(text, j);
    const len = cp > 0xffff ? 2 : 1;
    const c = wordBreakClass(cp);
    let join = false;
    switch (c) {
      case C.ALetter:
      case C.HebrewLetter:
      case C.Numeric:
        join = isLetter(prev) || prev === C.Numeric || prev === C.ExtendNumLet;
        break;
      case C.Katakana:
        join = prev === C.Katakana || prev === C.ExtendNumLet;
        break;
      case C.ExtendNumLet:
        join = true; // WB13a: every word class may be followed by a connector.
        break;
      case C.MidLetter:
      case C.MidNumLet:
      case C.MidNum:
      case C.SingleQuote:
      case C.DoubleQuote: {
        const j2 = skipExtend(text, j + len);
        const next = j2 < n ? wordBreakClass(codePointAt(text, j2)) : C.Other;
        if (isLetter(prev) && isLetter(next) && (c === C.MidLetter || c === C.MidNumLet || c === C.SingleQuote)) {
          j = j2; // WB6/7: the letter after it joins on the next turn
          continue;
        }
        if (prev === C.Numeric && next === C.Numeric && (c === C.MidNum || c === C.MidNumLet || c === C.SingleQuote)) {
          j = j2; // WB11/12
          continue;
        }
        if (prev === C.HebrewLetter && c === C.DoubleQuote && next === C.HebrewLetter) {
          j = j2; // WB7b/c
          continue;
        }
        if (prev === C.HebrewLetter && c === C.SingleQuote) {
          // WB7a keeps the quote. Lucene's grammar then lets any letter, digit or connector
          // continue the word (a JFlex quirk beyond UAX#29, kept for parity).
          if (isLetter(next) || next === C.Numeric || next === C.ExtendNumLet) {
            j = j2;
            continue;
          }
          return j2;
        }
        break;
      }
      default:
        break;
    }
    if (!join) break;
    prev = c;
    if (c !== C.ExtendNumLet) hasCore = true;
    j = skipExtend(text, j + len);
  }
  return hasCore ? j : -1;
}
