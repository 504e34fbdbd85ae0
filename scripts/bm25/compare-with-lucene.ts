/**
 * Dev cross-check (not a CI test): analyzes every document and query of a BEIR-layout
 * dataset with Lucene 8's EnglishAnalyzer (Debian liblucene8-java + java 17) and with
 * Winnow's EnglishAnalyzer, and reports token-for-token differences. Also reports how
 * often npm `stemmer` disagrees with Lucene's Porter stemmer on the vocabulary.
 *
 *   apt-get install -y liblucene8-java
 *   npx tsx scripts/bm25/compare-with-lucene.ts ../shared/datasets/scifact
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stemmer } from "stemmer";
import { readCorpus, readQueries } from "../../src/eval/readers/beir.js";
import { EnglishAnalyzer } from "../../src/retrieval/analysis/english-analyzer.js";

const dataset = process.argv[2] ?? "../shared/datasets/scifact";
const here = dirname(fileURLToPath(import.meta.url));
const jars = readdirSync("/usr/share/java")
  .filter((f) => /^lucene-(core|analyzers-common)-[0-9.]+\.jar$/.test(f))
  .map((f) => join("/usr/share/java", f))
  .join(":");

const docs: string[] = [];
for await (const d of readCorpus(dataset)) docs.push(`${d.title ?? ""} ${d.text}`);
const queries = [...(await readQueries(dataset)).values()].map((q) => q.text);
// One text per line for the Java side; newlines and tabs only ever separate tokens.
const inputs = [...docs, ...queries].map((s) => s.replace(/[\r\n\t]/g, " "));

const lucene = execFileSync("java", ["-cp", jars, join(here, "LuceneAnalyze.java"), "english"], {
  input: inputs.join("\n") + "\n",
  maxBuffer: 1 << 30,
})
  .toString("utf8")
  .split("\n");

const analyzer = new EnglishAnalyzer();
let differing = 0;
let tokens = 0;
const shown: string[] = [];
for (let i = 0; i < inputs.length; i++) {
  const ours = analyzer.analyze(inputs[i]).join(" ");
  tokens += ours ? ours.split(" ").length : 0;
  if (ours !== lucene[i]) {
    differing++;
    if (shown.length < 10) {
      const a = ours.split(" ");
      const b = lucene[i].split(" ");
      let k = 0;
      while (k < a.length && a[k] === b[k]) k++;
      shown.push(`#${i}: winnow [${a.slice(k, k + 5).join(" ")}] lucene [${b.slice(k, k + 5).join(" ")}]`);
    }
  }
}
console.log(`${dataset}: ${inputs.length} texts, ${tokens} terms, ${differing} texts differ from Lucene`);
for (const s of shown) console.log("  " + s);

// npm stemmer vs Lucene's PorterStemmer on the unstemmed vocabulary.
const unstemmed = new EnglishAnalyzer({ stem: false });
const vocab = new Set<string>();
for (const t of inputs) for (const w of unstemmed.analyze(t)) if (/^[a-z]+$/.test(w)) vocab.add(w);
const words = [...vocab];
const luceneStems = execFileSync("java", ["-cp", jars, join(here, "LuceneAnalyze.java"), "english"], {
  input: words.join("\n") + "\n",
  maxBuffer: 1 << 30,
})
  .toString("utf8")
  .split("\n");
let npmDiff = 0;
const npmShown: string[] = [];
words.forEach((w, i) => {
  if (stemmer(w) !== luceneStems[i]) {
    npmDiff++;
    if (npmShown.length < 10) npmShown.push(`${w}: npm ${stemmer(w)} lucene ${luceneStems[i]}`);
  }
});
console.log(`npm stemmer vs Lucene Porter: ${npmDiff} of ${words.length} words differ`);
for (const s of npmShown) console.log("  " + s);
