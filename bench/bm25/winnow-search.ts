/**
 * The Winnow side of the scale bench's query figures, run as its own process so its
 * RSS is the search's alone: opens an index, answers the queries at top-1000 and
 * top-100 (a warm-up pass, then timed passes, best kept; one thread), then the same
 * exhaustively (every posting scored) and checks that both return identical ids,
 * scores and order. Prints one JSON line.
 *   tsx bench/bm25/winnow-search.ts INDEX_DIR QUERIES_TSV PASSES RUN_OUT_TSV
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";

const [indexDir, queriesFile, passesArg, runOut] = process.argv.slice(2);
const passes = Number(passesArg);
const queries = readFileSync(queriesFile, "utf8")
  .split("\n")
  .filter((l) => l.includes("\t"))
  .map((l) => ({ id: l.slice(0, l.indexOf("\t")), text: l.slice(l.indexOf("\t") + 1) }));

const t0 = performance.now();
const index = await Bm25Index.load(indexDir);
const openSeconds = (performance.now() - t0) / 1000;

type Run = Array<Array<[string, number]>>;
async function pass(k: number): Promise<{ seconds: number; cpuSeconds: number; run: Run }> {
  const run: Run = [];
  const c0 = process.cpuUsage();
  const s0 = performance.now();
  for (const q of queries) {
    const hits = await index.search(q.text, k);
    // The id of every hit is read, as Lucene's side reads its stored id.
    run.push(hits.map((h) => [h.document.id, h.score]));
  }
  const c = process.cpuUsage(c0);
  return { seconds: (performance.now() - s0) / 1000, cpuSeconds: (c.user + c.system) / 1e6, run };
}

function same(a: Run, b: Run): boolean {
  return a.length === b.length && a.every((hits, i) => hits.length === b[i].length && hits.every(([id, s], j) => id === b[i][j][0] && s === b[i][j][1]));
}

const out: Record<string, number | boolean> = { openSeconds };
const runs: Record<number, Run> = {};
for (const k of [1000, 100]) {
  runs[k] = (await pass(k)).run; // warm-up: warm cache, JIT, block bounds
  let best = Infinity;
  let bestCpu = Infinity;
  for (let p = 0; p < passes; p++) {
    const r = await pass(k);
    best = Math.min(best, r.seconds);
    bestCpu = Math.min(bestCpu, r.cpuSeconds);
  }
  out[`qps${k}`] = queries.length / best;
  out[`cpuQps${k}`] = queries.length / bestCpu;
}
out.rssMb = process.memoryUsage().rss / (1024 * 1024);
Bm25Index.dynamicPruning = false;
let identical = true;
for (const k of [1000, 100]) {
  const r = await pass(k);
  out[`exhaustiveQps${k}`] = queries.length / r.seconds;
  if (!same(r.run, runs[k])) identical = false;
}
out.identicalToExhaustive = identical;
writeFileSync(runOut, runs[100].map((hits, i) => hits.map(([id, s]) => `${queries[i].id}\t${id}\t${s}`).join("\n")).join("\n") + "\n");
console.log(JSON.stringify(out));
