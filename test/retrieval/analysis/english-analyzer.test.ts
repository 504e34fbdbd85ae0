import { describe, expect, it } from "vitest";
import { EnglishAnalyzer, ENGLISH_STOP_WORDS, lowerCaseLikeLucene, stripPossessive } from "../../../src/retrieval/analysis/english-analyzer.js";

// Expected terms were produced by Lucene 8's EnglishAnalyzer (the chain Anserini uses for BEIR)
// on the same strings with scripts/bm25/LuceneAnalyze.java.
const analyzer = new EnglishAnalyzer();

describe("EnglishAnalyzer (Lucene EnglishAnalyzer chain)", () => {
  it("matches Lucene on mixed English text", () => {
    expect(analyzer.analyze("The quick brown fox's 1,000 dogs cost $3.50 on 2020-01-02.")).toEqual([
      "quick", "brown", "fox", "1,000", "dog", "cost", "3.50", "2020", "01", "02",
    ]);
    expect(analyzer.analyze("don't U.S.A. a:b http://www.example.com/x?y=1 john.doe@example.com")).toEqual([
      "don't", "u.s.a", "a:b", "http", "www.example.com", "x", "y", "1", "john.do", "example.com",
    ]);
    expect(analyzer.analyze("John’s JOHN'S students' rock'n'roll O'Neil 1;2 1:2 a.b.c 0.5% ±3 m² µm naïve")).toEqual([
      "john", "john", "student", "rock'n'rol", "o'neil", "1;2", "1", "2", "a.b.c", "0.5", "3", "m", "µm", "naïv",
    ]);
    expect(analyzer.analyze("© 2012 Elsevier αβγ-secretase ΟΔΟΣ İstanbul")).toEqual(["©", "2012", "elsevi", "αβγ", "secretas", "οδοσ", "istanbul"]);
  });

  it("has Lucene's 33 English stop words and drops them", () => {
    expect(ENGLISH_STOP_WORDS.size).toBe(33);
    expect(analyzer.analyze("it is not such a thing as they will be")).toEqual(["thing"]);
  });

  it("stems with Porter and can be configured off", () => {
    expect(analyzer.analyze("generalizations oscillators running")).toEqual(["gener", "oscil", "run"]);
    expect(new EnglishAnalyzer({ stem: false, stopWords: [] }).analyze("The Running dogs")).toEqual(["the", "running", "dogs"]);
  });

  it("strips possessives before lowercasing, in either case of s", () => {
    expect(stripPossessive("JOHN'S")).toBe("JOHN");
    expect(stripPossessive("John’s")).toBe("John");
    expect(stripPossessive("s")).toBe("s");
    expect(stripPossessive("cats")).toBe("cats");
  });

  it("lowercases per code point like Java (no final sigma, İ → i)", () => {
    expect(lowerCaseLikeLucene("ΟΔΟΣ")).toBe("οδοσ");
    expect("ΟΔΟΣ".toLowerCase()).toBe("οδος"); // what we must not do
    expect(lowerCaseLikeLucene("İSTANBUL")).toBe("istanbul");
  });

  it("gives the same terms on repeated calls (term cache)", () => {
    const text = "Running runners ran; the runner's runs";
    expect(analyzer.analyze(text)).toEqual(analyzer.analyze(text));
    expect(analyzer.analyze(text)).toEqual(["run", "runner", "ran", "runner", "run"]);
  });
});
