/**
 * Dev cross-check (not a CI test): random strings over characters that exercise the
 * UAX#29 rules (mid-letter/mid-number punctuation, quotes, connectors, Hebrew, Katakana,
 * Han, Hiragana, Thai, combining marks, ZWJ, emoji, flags…), tokenized by Lucene 8's
 * StandardTokenizer and by Winnow's, lowercased both sides; prints the disagreements.
 *
 *   npx tsx scripts/bm25/fuzz-tokenizer-with-lucene.ts [count] [seed]
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { lowerCaseLikeLucene } from "../../src/retrieval/analysis/english-analyzer.js";
import { StandardTokenizer } from "../../src/retrieval/analysis/standard-tokenizer.js";

const count = Number(process.argv[2] ?? 20000);
let seed = Number(process.argv[3] ?? 1) >>> 0;
const rand = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const here = dirname(fileURLToPath(import.meta.url));
const jars = readdirSync("/usr/share/java")
  .filter((f) => /^lucene-(core|analyzers-common)-[0-9.]+\.jar$/.test(f))
  .map((f) => join("/usr/share/java", f))
  .join(":");

const ALPHABET = [
  ..."aZé1٣.',:;_-\"/@ ", "\u00b7", "\u2019", "\u2018", "\u202f", "\u00ad", "\u200b", "\u200d", "\u0301", "\u05d0", "\u05e9",
  "\u05f3", "\u05f4", "\u30a2", "\u30fc", "\u3042", "\u4e2d", "\u0e01", "\u0e31", "\uac00", "\u00a9", "\u00b2", "\u00bd",
  "\u2160", "\u0661", "\uff11", "\uff0e", "\ufe52", "\u2024", "\u2027", "\u00aa", "\u{1f600}", "\u{1f3fd}", "\u{1f1eb}",
  "\u{1f1f7}", "\u2764", "\ufe0f", "\u{1d400}", "\u0394", "\u03c3",
];
const inputs: string[] = [];
for (let i = 0; i < count; i++) {
  const len = 1 + Math.floor(rand() * 12);
  let s = "";
  for (let j = 0; j < len; j++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  inputs.push(s.replace(/[\r\n]/g, " "));
}
const lucene = execFileSync("java", ["-cp", jars, join(here, "LuceneAnalyze.java"), "standard"], {
  input: inputs.join("\n") + "\n",
  maxBuffer: 1 << 30,
})
  .toString("utf8")
  .split("\n");
const tok = new StandardTokenizer();
let differ = 0;
for (let i = 0; i < inputs.length; i++) {
  const ours = tok.tokenize(inputs[i]).map(lowerCaseLikeLucene).join(" ");
  if (ours !== lucene[i]) {
    if (differ < 15) {
      const cps = [...inputs[i]].map((c) => c.codePointAt(0)!.toString(16).padStart(4, "0")).join(" ");
      console.log(`[${cps}] winnow "${ours}" lucene "${lucene[i]}"`);
    }
    differ++;
  }
}
console.log(`${differ} of ${inputs.length} random strings tokenize differently`);
