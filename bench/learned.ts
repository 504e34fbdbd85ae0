/**
 * Learned reranker latency: features + scoring of 100 BM25 candidates per query, against
 * the BM25 search for the same query measured in the same run.
 *
 *   npm run bench:learned                 # SciFact (5,183 docs), 300 test queries
 *   npm run bench:learned -- --quick      # bundled examples/scifact-mini, 100 queries
 *   npm run bench:learned -- --candidates 200
 *
 * Single-threaded JS: one core. Target: p50 under 5 ms for 100 candidates with the shipped
 * feature set (2: BM25+RM3, Dirichlet QL, DPH, proximity…); the RM3 expansion the reranker
 * computes per query (one BM25 search for the feedback documents) is inside the timing, and
 * a second row shows candidates that already carry scores["bm25-rm3"] (an RM3 first stage).
 * Also BM25+RM3 queries/s against plain BM25 in the same run (bench/rm3-throughput.ts).
 */
import { join } from "node:path";
import { loadBeirDataset, readCorpus } from "../src/eval/readers/beir.js";
import { PACKAGE_ROOT, DEFAULT_LEARNED_MODEL_PATH } from "../src/rerankers/learned/default-model.js";
import { LearnedReranker } from "../src/rerankers/learned/learned-reranker.js";
import { loadLearnedModel } from "../src/rerankers/learned/model-file.js";
import { Bm25Index } from "../src/retrieval/bm25/bm25-index.js";
import { Rm3Retriever } from "../src/retrieval/bm25/rm3.js";
import { FEATURE_SET_VERSION } from "../src/rerankers/learned/features.js";
import { formatRm3Throughput, measureRm3Throughput } from "./rm3-throughput.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const at = args.indexOf("--candidates");
const candidates = at >= 0 ? Number(args[at + 1]) : 100;
if (!Number.isInteger(candidates) || candidates < 1) throw new Error(`--candidates must be a positive integer, got ${args[at + 1]}`);
const dir = quick ? join(PACKAGE_ROOT, "examples", "scifact-mini") : join(PACKAGE_ROOT, "..", "shared", "datasets", "scifact");

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

const index = await Bm25Index.build(readCorpus(dir));
const { queries } = await loadBeirDataset(dir, "test");
const model = await loadLearnedModel(DEFAULT_LEARNED_MODEL_PATH);
const withIndex = new LearnedReranker(model, { index });
const withoutIndex = new LearnedReranker(model, { analyzer: index.analyzer });
const used = quick ? queries.slice(0, 100) : queries;

// Warm-up: JIT, the analyzer's term cache, the index's title-length statistics.
for (const q of used.slice(0, 20)) {
  const hits = await index.search(q, candidates);
  await withIndex.rerank(q, hits);
  await withoutIndex.rerank(q, hits);
}

const rm3 = new Rm3Retriever(index);
const search: number[] = [];
const rerank: number[] = [];
const rerankRm3: number[] = [];
const fallback: number[] = [];
const ratio: number[] = [];
for (const q of used) {
  let t = performance.now();
  const hits = await index.search(q, candidates);
  const s = performance.now() - t;
  t = performance.now();
  await withIndex.rerank(q, hits, { returnDocuments: false });
  const r = performance.now() - t;
  t = performance.now();
  await withoutIndex.rerank(q, hits, { returnDocuments: false });
  fallback.push(performance.now() - t);
  // Same candidates as an RM3 first stage would label them: no expansion inside the reranker.
  const withRm3 = (await rm3.search(q, candidates)).map((c) => ({ ...c }));
  t = performance.now();
  await withIndex.rerank(q, withRm3, { returnDocuments: false });
  rerankRm3.push(performance.now() - t);
  search.push(s);
  rerank.push(r);
  ratio.push(r / s);
}

const row = (label: string, xs: number[]) => `${label.padEnd(46)} p50 ${pct(xs, 50).toFixed(3).padStart(8)} ms   p95 ${pct(xs, 95).toFixed(3).padStart(8)} ms`;
console.log(`learned reranker, ${model.trees.length} trees × ${model.features.length} features (feature set ${FEATURE_SET_VERSION}); ${index.docCount} docs (${quick ? "scifact-mini, --quick" : "SciFact"}), ${used.length} queries, ${candidates} candidates, one thread`);
console.log(row(`BM25 search (top ${candidates})`, search));
console.log(row(`learned rerank, index-backed features`, rerank));
console.log(row(`learned rerank, RM3 candidates (scores given)`, rerankRm3));
console.log(row(`learned rerank, candidate-list fallback`, fallback));
console.log(`rerank / search time for the same query: p50 ${pct(ratio, 50).toFixed(2)}×, p95 ${pct(ratio, 95).toFixed(2)}×`);
const p50 = pct(rerank, 50);
console.log(`target p50 ≤ 5 ms for ${candidates} candidates, index-backed (RM3 expansion included): ${p50 <= 5 ? "met" : "NOT met"} (${p50.toFixed(2)} ms)`);
// The BM25+RM3 first stage against plain BM25 over the same index and queries (top 100 and 1000).
for (const line of formatRm3Throughput(await measureRm3Throughput(index, used), used.length)) console.log(line);
