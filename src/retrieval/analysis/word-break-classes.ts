/**
 * Unicode word-break classes (UAX#29) as Lucene's StandardTokenizer grammar uses them.
 * JavaScript regexes expose General_Category, Script and binary properties but not
 * Word_Break itself, so each class is rebuilt from the properties UAX#29 defines it
 * with. Classes are computed lazily per code point and memoised (BMP in a table,
 * astral planes in a map) so tokenizing stays a table lookup per character.
 */
export const enum WordBreakClass {
  Other = 0,
  ALetter = 1,
  HebrewLetter = 2,
  Numeric = 3,
  Katakana = 4,
  ExtendNumLet = 5,
  MidLetter = 6,
  MidNumLet = 7,
  MidNum = 8,
  SingleQuote = 9,
  DoubleQuote = 10,
  /** Extend, Format and ZWJ: absorbed by the preceding character (WB4). */
  Extend = 11,
  /** Han ideographs: one token each. */
  Ideographic = 12,
  /** Hiragana: one token each. */
  Hiragana = 13,
  /** Line_Break=Complex_Context (Thai, Lao, Khmer, Myanmar…): runs kept whole. */
  ComplexContext = 14,
  Emoji = 15,
  RegionalIndicator = 16,
  /**
   * A combining mark of a Complex_Context script (Thai ั…): Extend after a character,
   * but Lucene's Complex_Context rule makes it a token of its own when nothing precedes it.
   */
  ComplexContextMark = 17,
  /** Emoji skin-tone modifiers: part of a preceding emoji, a token of their own otherwise. */
  EmojiModifier = 18,
}

const UNKNOWN = 255;
const bmp = new Uint8Array(0x10000).fill(UNKNOWN);
const astral = new Map<number, WordBreakClass>();

const MID_LETTER = new Set([0x003a, 0x00b7, 0x0387, 0x05f4, 0x2027, 0xfe13, 0xfe55, 0xff1a]);
const MID_NUM_LET = new Set([0x002e, 0x2018, 0x2019, 0x2024, 0xfe52, 0xff07, 0xff0e]);
const MID_NUM = new Set([
  0x002c, 0x003b, 0x037e, 0x0589, 0x060c, 0x060d, 0x066c, 0x07f8, 0x2044, 0xfe10, 0xfe14, 0xfe50, 0xfe54, 0xff0c,
  0xff1b,
]);
// Modifier letters UAX#29 adds to ALetter although they are not Alphabetic.
const EXTRA_ALETTER = new Set([
  0x02c2, 0x02c3, 0x02c4, 0x02c5, 0x02d2, 0x02d3, 0x02d4, 0x02d5, 0x02d6, 0x02d7, 0x02de, 0x02df, 0x02ed, 0x02ef,
  0x02f0, 0x02f1, 0x02f2, 0x02f3, 0x02f4, 0x02f5, 0x02f6, 0x02f7, 0x02f8, 0x02f9, 0x02fa, 0x02fb, 0x02fc, 0x02fd,
  0x02fe, 0x02ff, 0x05f3, 0xa720, 0xa721, 0xa789, 0xa78a, 0xab5b,
]);
const KATAKANA_EXTRA = new Set([0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x309b, 0x309c, 0x30a0, 0x30fc, 0xff70]);

const RE_EXTEND = /^[\p{Mn}\p{Me}\p{Mc}\u200c\u200d]$/u;
const RE_FORMAT = /^\p{Cf}$/u;
const RE_KATAKANA = /^\p{Script=Katakana}$/u;
const RE_HEBREW_LETTER = /^(?=\p{Script=Hebrew})\p{L}$/u;
const RE_NUMERIC = /^\p{Nd}$/u;
const RE_HAN = /^\p{Script=Han}$/u;
const RE_HIRAGANA = /^\p{Script=Hiragana}$/u;
// Line_Break=SA is not exposed to regexes; these are the scripts it covers (letters and marks, not digits).
const RE_COMPLEX = /^(?=[\p{Script=Thai}\p{Script=Lao}\p{Script=Myanmar}\p{Script=Khmer}\p{Script=Tai_Le}\p{Script=New_Tai_Lue}\p{Script=Tai_Tham}\p{Script=Tai_Viet}])[\p{L}\p{M}]$/u;
const RE_ALPHABETIC = /^\p{Alphabetic}$/u;
const RE_PICTOGRAPHIC = /^\p{Extended_Pictographic}$/u;
const RE_CONNECTOR = /^\p{Pc}$/u;

function classify(cp: number): WordBreakClass {
  if (cp === 0x27) return WordBreakClass.SingleQuote;
  if (cp === 0x22) return WordBreakClass.DoubleQuote;
  if (MID_NUM_LET.has(cp)) return WordBreakClass.MidNumLet;
  if (MID_LETTER.has(cp)) return WordBreakClass.MidLetter;
  if (MID_NUM.has(cp)) return WordBreakClass.MidNum;
  if (cp === 0x202f) return WordBreakClass.ExtendNumLet;
  if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return WordBreakClass.RegionalIndicator;
  if (cp >= 0x1f3fb && cp <= 0x1f3ff) return WordBreakClass.EmojiModifier;
  const ch = String.fromCodePoint(cp);
  if (RE_CONNECTOR.test(ch)) return WordBreakClass.ExtendNumLet;
  if (RE_EXTEND.test(ch)) return RE_COMPLEX.test(ch) ? WordBreakClass.ComplexContextMark : WordBreakClass.Extend;
  // Format excludes ZWSP (a break opportunity by definition); ZWNJ/ZWJ are handled as Extend above.
  if (cp !== 0x200b && RE_FORMAT.test(ch)) return WordBreakClass.Extend;
  if (RE_COMPLEX.test(ch)) return WordBreakClass.ComplexContext;
  if (RE_NUMERIC.test(ch)) return WordBreakClass.Numeric;
  if (KATAKANA_EXTRA.has(cp) || RE_KATAKANA.test(ch)) return WordBreakClass.Katakana;
  if (RE_HEBREW_LETTER.test(ch)) return WordBreakClass.HebrewLetter;
  if (RE_HAN.test(ch)) return WordBreakClass.Ideographic;
  if (RE_HIRAGANA.test(ch)) return WordBreakClass.Hiragana;
  if (EXTRA_ALETTER.has(cp) || RE_ALPHABETIC.test(ch)) return WordBreakClass.ALetter;
  // Pictographs outside ASCII only: ©/® style symbols without emoji presentation still count, as in Lucene's emoji rule.
  if (cp > 0x7f && RE_PICTOGRAPHIC.test(ch)) return WordBreakClass.Emoji;
  return WordBreakClass.Other;
}

// ASCII is hot: fill it eagerly.
for (let cp = 0; cp < 0x80; cp++) bmp[cp] = classify(cp);

export function wordBreakClass(cp: number): WordBreakClass {
  if (cp < 0x10000) {
    let c = bmp[cp];
    if (c === UNKNOWN) {
      c = classify(cp);
      bmp[cp] = c;
    }
    return c as WordBreakClass;
  }
  let c = astral.get(cp);
  if (c === undefined) {
    c = classify(cp);
    astral.set(cp, c);
  }
  return c;
}
