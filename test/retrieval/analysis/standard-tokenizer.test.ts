import { describe, expect, it } from "vitest";
import { StandardTokenizer } from "../../../src/retrieval/analysis/standard-tokenizer.js";

// Expected tokens were produced by Lucene 8's StandardTokenizer (liblucene8-java) on the
// same strings with scripts/bm25/LuceneAnalyze.java; case kept here (no lowercasing).
const tok = new StandardTokenizer();

describe("StandardTokenizer (Lucene / UAX#29)", () => {
  it("keeps numbers with separators whole and drops symbols", () => {
    expect(tok.tokenize("The quick brown fox's 1,000 dogs cost $3.50 on 2020-01-02.")).toEqual([
      "The", "quick", "brown", "fox's", "1,000", "dogs", "cost", "3.50", "on", "2020", "01", "02",
    ]);
    expect(tok.tokenize("3.5.6 0.5% ±3 1;2 1:2 10^9 p<0.05")).toEqual(["3.5.6", "0.5", "3", "1;2", "1", "2", "10", "9", "p", "0.05"]);
  });

  it("splits URLs and e-mails at slashes and @ but keeps dotted and colon-joined words", () => {
    expect(tok.tokenize("don't U.S.A. a:b http://www.example.com/x?y=1 john.doe@example.com")).toEqual([
      "don't", "U.S.A", "a:b", "http", "www.example.com", "x", "y", "1", "john.doe", "example.com",
    ]);
  });

  it("splits at hyphens and joins letters with digits and underscores", () => {
    expect(tok.tokenize("wi-fi IL-6 TNF-α CD4+ a1b2 foo_bar __ _x 1_000 x.y.")).toEqual([
      "wi", "fi", "IL", "6", "TNF", "α", "CD4", "a1b2", "foo_bar", "_x", "1_000", "x.y",
    ]);
  });

  it("handles apostrophes inside words and typographic quotes", () => {
    expect(tok.tokenize("John’s students' rock'n'roll O'Neil 'quoted'")).toEqual(["John’s", "students", "rock'n'roll", "O'Neil", "quoted"]);
  });

  it("keeps accented and Greek words whole, one token per Han and Hiragana character", () => {
    expect(tok.tokenize("naïve café Σίσυφος 日本語テキストです ภาษาไทย 한국어 텍스트")).toEqual([
      "naïve", "café", "Σίσυφος", "日", "本", "語", "テキスト", "で", "す", "ภาษาไทย", "한국어", "텍스트",
    ]);
  });

  it("keeps a combining accent with its letter (decomposed form)", () => {
    expect(tok.tokenize("cafe\u0301 ok")).toEqual(["cafe\u0301", "ok"]);
  });

  it("emits emoji, flags and © as tokens, and drops superscripts", () => {
    expect(tok.tokenize("© 2012 😀 👍🏽 🇫🇷 m² x²")).toEqual(["©", "2012", "😀", "👍🏽", "🇫🇷", "m", "x"]);
  });

  it("follows Lucene's emoji, Thai-mark and Hebrew-quote rules", () => {
    expect(tok.tokenize("😀🏽 👍🏽 x")).toEqual(["😀", "🏽", "👍🏽", "x"]); // only modifier bases take skin tones
    expect(tok.tokenize("\u0e31 a\u0e31 b")).toEqual(["\u0e31", "a\u0e31", "b"]); // a lone Thai mark is a token
    expect(tok.tokenize("\u05d0'1 \u05d0' \u05e9\"\u05e9")).toEqual(["\u05d0'1", "\u05d0'", "\u05e9\"\u05e9"]);
    expect(tok.tokenize("\u200d\u2764 \u2764\ufe0f")).toEqual(["\u200d\u2764", "\u2764\ufe0f"]); // ZWJ × pictograph
  });

  it("cuts tokens longer than the maximum length into pieces", () => {
    const long = "a".repeat(600);
    const pieces = new StandardTokenizer(255).tokenize(long);
    expect(pieces.map((p) => p.length)).toEqual([255, 255, 90]);
  });

  it("returns nothing for punctuation and whitespace only", () => {
    expect(tok.tokenize(" \t\n--- ... !!! ")).toEqual([]);
    expect(tok.tokenize("")).toEqual([]);
  });
});
