/**
 * Dev cross-check (not a CI test): runs BM25+RM3 (Anserini's `-bm25 -rm3`) in Lucene 8
 * (Debian liblucene8-java, java 17; scripts/bm25/LuceneRm3Search.java) and in Winnow
 * (Rm3Retriever), and compares the top-k lists id for id and score for score (as float32),
 * with both runs' nDCG@10 on the test split.
 *
 *   npx tsx scripts/bm25/compare-rm3-with-lucene.ts ../shared/datasets/scifact 1000 [fbDocs fbTerms originalQueryWeight]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Document } from "../../src/core/types.js";
import { evaluateRun } from "../../src/eval/evaluate.js";
import { loadBeirDataset, readCorpus, readQueries } from "../../src/eval/readers/beir.js";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";
import { Rm3Retriever } from "../../src/retrieval/bm25/rm3.js";

const dataset = process.argv[2] ?? "../shared/datasets/scifact";
const k = Number(process.argv[3] ?? 1000);
const rm3 = process.argv[6] !== undefined ? { fbDocs: Number(process.argv[4]), fbTerms: Number(process.argv[5]), originalQueryWeight: Number(process.argv[6]) } : undefined;
const here = dirname(fileURLToPath(import.meta.url));
const jars = readdirSync("/usr/share/java")
  .filter((f) => /^lucene-(core|analyzers-common)-[0-9.]+\.jar$/.test(f))
  .map((f) => join("/usr/share/java", f))
  .join(":");
const flat = (s: string) => s.replace(/[\r\n\t]/g, " ");

const docs: Document[] = [];
for await (const d of readCorpus(dataset)) docs.push(d);
const queries = [...(await readQueries(dataset)).values()];
const tmp = mkdtempSync(join(tmpdir(), "winnow-lucene-"));
writeFileSync(join(tmp, "docs.tsv"), docs.map((d) => `${d.id}\t${flat(`${d.title ?? ""} ${d.text}`)}`).join("\n") + "\n");
writeFileSync(join(tmp, "queries.tsv"), queries.map((q) => `${q.id}\t${flat(q.text)}`).join("\n") + "\n");
const lucene = new Map<string, Array<[string, number]>>();
const out = execFileSync("java", ["-cp", jars, join(here, "LuceneRm3Search.java"), join(tmp, "docs.tsv"), join(tmp, "queries.tsv"), String(k), ...(rm3 ? [String(rm3.fbDocs), String(rm3.fbTerms), String(rm3.originalQueryWeight)] : [])], {
  maxBuffer: 1 << 30,
}).toString("utf8");
rmSync(tmp, { recursive: true, force: true });
for (const line of out.split("\n")) {
  if (!line) continue;
  const [qid, id, score] = line.split("\t");
  if (!lucene.has(qid)) lucene.set(qid, []);
  lucene.get(qid)!.push([id, Math.fround(Number(score))]);
}

const index = await Bm25Index.build(docs);
const retriever = new Rm3Retriever(index, rm3 ?? {});
const ourRun = new Map<string, Array<{ docId: string; score: number }>>();
let identical = 0;
let hits = 0;
let sameScore = 0;
const shown: string[] = [];
for (const q of queries) {
  const ours = (await retriever.search(q, k)).map((h) => [h.document.id, h.score] as [string, number]);
  ourRun.set(q.id!, ours.map(([docId, score]) => ({ docId, score })));
  const theirs = lucene.get(q.id!) ?? [];
  const same = ours.length === theirs.length && ours.every(([id, s], i) => id === theirs[i][0] && s === theirs[i][1]);
  if (same) identical++;
  else if (shown.length < 5) {
    const i = ours.findIndex(([id, s], j) => theirs[j]?.[0] !== id || theirs[j]?.[1] !== s);
    shown.push(`query ${q.id} first differs at rank ${i + 1}: winnow ${ours[i]?.join(" ")} lucene ${theirs[i]?.join(" ")}`);
  }
  const lucScore = new Map(theirs);
  for (const [id, s] of ours) {
    hits++;
    if (lucScore.get(id) === s) sameScore++;
  }
}
console.log(`${dataset} BM25+RM3 ${JSON.stringify(retriever.params)}: ${identical} of ${queries.length} queries give identical top-${k} lists (ids, order and float32 scores)`);
console.log(`  ${sameScore} of ${hits} returned hits have exactly Lucene's score`);
for (const s of shown) console.log("  " + s);

const { qrels } = await loadBeirDataset(dataset, "test");
const luceneRun = new Map([...lucene].map(([qid, hs]) => [qid, hs.map(([docId, score]) => ({ docId, score }))]));
const ndcg = (run: typeof ourRun) => evaluateRun(qrels, run, ["ndcg_cut_10"]).metrics.ndcg_cut_10.toFixed(4);
console.log(`  nDCG@10 (test, trec_eval -c): winnow ${ndcg(ourRun)}, lucene ${ndcg(luceneRun)}`);
