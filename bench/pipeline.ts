/**
 * Does the latency budget hold? BM25 over SciFact, then a cross-encoder over the top 100
 * in batches, with several budgets. For each budget: p50/p95 end-to-end latency, how many
 * candidates were reranked, and the p95 time of one batch; the budget "holds" when
 * p95 ≤ budget + one batch (the granularity the pipeline promises). The unbudgeted run
 * (everything reranked) is measured in the same process as the baseline.
 *
 *   npm run bench:pipeline -- [--quick] [--model minilm-l6|tiny-bert] [--queries N] [--budgets 250,500,1000] [--batch 8]
 */
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { summarizeLatencies } from "../src/eval/experiment.js";
import { loadBeirDataset, readCorpus } from "../src/eval/readers/beir.js";
import { ensureGeneratedModel } from "../src/onnx/generate.js";
import { createPipeline } from "../src/pipeline/pipeline.js";
import { createReranker } from "../src/rerankers/registry.js";
import { Bm25Index } from "../src/retrieval/bm25/bm25-index.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    model: { type: "string" },
    queries: { type: "string" },
    budgets: { type: "string" },
    batch: { type: "string", default: "8" },
    candidates: { type: "string", default: "100" },
  },
});
const quick = values.quick!;
const preset = (values.model ?? (quick ? "tiny-bert" : "minilm-l6")) as "minilm-l6" | "tiny-bert";
const nQueries = Number(values.queries ?? (quick ? 15 : 40));
const budgets = (values.budgets ?? (quick ? "100,200,400" : "250,500,1000")).split(",").map(Number);
const batchSize = Number(values.batch);
const topK = Number(values.candidates);

const repo = resolve(import.meta.dirname, "..");
const datasetDir = join(repo, "../shared/datasets/scifact");
console.log(`bench:pipeline — BM25 top ${topK} → ${preset} cross-encoder (batches of ${batchSize}), SciFact test, ${nQueries} queries${quick ? " (quick)" : ""}`);
const dataset = await loadBeirDataset(datasetDir, "test");
const index = await Bm25Index.build(readCorpus(datasetDir));
const modelDir = await ensureGeneratedModel(preset);
const reranker = await createReranker({ type: "cross-encoder", model: modelDir });
const queries = dataset.queries.slice(0, nQueries);

async function measure(budgetMs: number | undefined) {
  const pipeline = createPipeline({
    retrievers: [{ name: "bm25", retriever: index, k: topK }],
    stages: [{ reranker, topK, batchSize, name: "ce" }],
    topN: 10,
    budgetMs,
  });
  await pipeline.warmup();
  const total: number[] = [];
  const reranked: number[] = [];
  const batchMs: number[] = [];
  for (const q of queries) {
    const r = await pipeline.search(q, { returnDocuments: false });
    total.push(r.timings.total);
    const s = r.stages[0];
    reranked.push(s.reranked);
    if (s.reranked > 0) batchMs.push(s.ms / Math.ceil(s.reranked / batchSize));
  }
  const t = summarizeLatencies(total);
  const b = summarizeLatencies(batchMs);
  return { p50: t.p50Ms, p95: t.p95Ms, meanReranked: reranked.reduce((a, x) => a + x, 0) / reranked.length, batchP95: b.p95Ms };
}

const baseline = await measure(undefined);
const rows: string[][] = [["budget ms", "p50 ms", "p95 ms", "p95/budget", "reranked (mean)", "batch p95 ms", "holds (p95 ≤ budget + batch)"]];
rows.push(["none", baseline.p50.toFixed(0), baseline.p95.toFixed(0), "–", baseline.meanReranked.toFixed(1), baseline.batchP95.toFixed(0), "baseline"]);
for (const budget of budgets) {
  const m = await measure(budget);
  rows.push([
    String(budget),
    m.p50.toFixed(0),
    m.p95.toFixed(0),
    (m.p95 / budget).toFixed(2),
    m.meanReranked.toFixed(1),
    m.batchP95.toFixed(0),
    m.p95 <= budget + m.batchP95 ? "yes" : "NO",
  ]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i])).join("  "));
console.log(`unbudgeted p95 ${baseline.p95.toFixed(0)} ms for ${topK} candidates; budgets cut it to the ratios above`);
await reranker.close?.();
