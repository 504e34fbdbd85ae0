/**
 * BM25 first-stage benchmark: indexing speed, query speed at top-1000 and top-100,
 * save/load time, and retrieval quality against the Lucene 8 / Anserini reference.
 *
 *   npm run bench:bm25                      # SciFact test, 3 timed builds, 5 query passes
 *   npm run bench:bm25 -- --quick           # 1 build, 1 query pass (CI smoke)
 *   npm run bench:bm25 -- --dataset ../shared/datasets/cranfield
 *   npm run bench:bm25 -- --docs 100000     # generated corpus, Winnow and Lucene 8 in the same run (bench/bm25/scale.ts)
 *
 * One thread. Figures are wall-clock medians; the best run by process CPU time is
 * printed too because a shared machine's wall clock includes other people's work. The Lucene figures are
 * the shared README's measurement of Lucene 8.8.1 on this kind of machine, printed
 * as the baseline (they are not re-measured here: no JVM in CI).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Document, Query } from "../src/core/types.js";
import { evaluateRun } from "../src/eval/evaluate.js";
import { loadBeirDataset, readCorpus } from "../src/eval/readers/beir.js";
import { Bm25Index } from "../src/retrieval/bm25/bm25-index.js";
import { runScaleBench } from "./bm25/scale.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const datasetArg = args.indexOf("--dataset");
const defaultDataset = join(root, "..", "shared", "datasets", "scifact");
const dataset =
  datasetArg >= 0 ? resolve(args[datasetArg + 1]) : existsSync(defaultDataset) ? defaultDataset : join(root, "examples", "scifact-mini");
const name = dataset.split("/").filter(Boolean).pop()!;

/** The shared README's published / measured Lucene 8 figures (baseline, not re-measured). */
const LUCENE: Record<string, { ndcg10: number; r100: number; r1000?: number; indexSeconds?: number; qps1000?: number; qps100?: number }> = {
  scifact: { ndcg10: 0.6789, r100: 0.9253, r1000: 0.9767, indexSeconds: 2, qps1000: 730, qps100: 2350 },
  cranfield: { ndcg10: 0.351, r100: 0.7224, r1000: 0.9518 },
  cisi: { ndcg10: 0.3585, r100: 0.4249, r1000: 0.9275 },
  adi: { ndcg10: 0.4747, r100: 0.9103 },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return fn().then((value) => {
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { value, wall, cpu: (c.user + c.system) / 1e6 };
  });
}

async function queryPass(index: Bm25Index, queries: Query[], k: number) {
  return timed(async () => {
    const run = new Map<string, Array<{ docId: string; score: number }>>();
    for (const q of queries) {
      const hits = await index.search(q, k);
      run.set(q.id!, hits.map((h) => ({ docId: h.document.id, score: h.score })));
    }
    return run;
  });
}

async function main(): Promise<void> {
  if (args.includes("--docs")) return runScaleBench(root, args);
  const docs: Document[] = [];
  for await (const d of readCorpus(dataset)) docs.push(d);
  const split = existsSync(join(dataset, "qrels", "test.tsv")) ? "test" : "train";
  const { queries, qrels } = await loadBeirDataset(dataset, split);
  const chars = docs.reduce((n, d) => n + d.text.length + (d.title?.length ?? 0), 0);
  const load = loadavg()[0];
  if (load > cpus().length) {
    console.log(`note: load average ${load.toFixed(1)} on ${cpus().length} cores; wall-clock figures include other processes' work, the CPU-time figures less so`);
  }
  console.log(`BM25 bench: ${name} (${docs.length} docs, ${(chars / 1e6).toFixed(2)} M chars), ${queries.length} ${split} queries${quick ? ", --quick" : ""}`);

  const builds = quick ? 1 : 3;
  if (!quick) await Bm25Index.build(docs); // warm the JIT and the analyzer's code paths
  const buildTimes: Array<{ wall: number; cpu: number }> = [];
  let index!: Bm25Index;
  for (let i = 0; i < builds; i++) {
    const r = await timed(() => Bm25Index.build(docs));
    index = r.value;
    buildTimes.push(r);
  }
  const buildWall = median(buildTimes.map((t) => t.wall));
  const buildCpu = Math.min(...buildTimes.map((t) => t.cpu));

  const dir = mkdtempSync(join(tmpdir(), "winnow-bm25-bench-"));
  const save = await timed(() => index.save(join(dir, "index")));
  const reload = await timed(() => Bm25Index.load(join(dir, "index")));
  rmSync(dir, { recursive: true, force: true });

  const passes = quick ? 1 : 5;
  const speeds: Record<number, { wall: number; cpu: number }> = {};
  let run1000!: Map<string, Array<{ docId: string; score: number }>>;
  for (const k of [1000, 100]) {
    await queryPass(index, queries, k); // warm-up pass
    const times: Array<{ wall: number; cpu: number }> = [];
    for (let i = 0; i < passes; i++) {
      const r = await queryPass(index, queries, k);
      if (k === 1000) run1000 = r.value;
      times.push(r);
    }
    speeds[k] = { wall: median(times.map((t) => t.wall)), cpu: Math.min(...times.map((t) => t.cpu)) };
  }

  const quality = evaluateRun(qrels, run1000, ["ndcg_cut_10", "recall_100", "recall_1000", "map", "recip_rank"]).metrics;
  const ref = LUCENE[name];
  const row = (label: string, ours: string, base: string, ratio: string) =>
    console.log(`  ${label.padEnd(26)} ${ours.padStart(14)} ${base.padStart(22)} ${ratio.padStart(10)}`);

  console.log("\nSpeed (one thread; wall-clock median; in brackets: best run by process CPU time)");
  row("", "winnow", "Lucene 8.8.1 (baseline)", "ratio");
  const docsPerSec = docs.length / buildWall;
  row("index", `${buildWall.toFixed(2)} s`, ref?.indexSeconds ? `${ref.indexSeconds.toFixed(2)} s` : "-", ref?.indexSeconds ? `${(ref.indexSeconds / buildWall).toFixed(2)}x` : "");
  row("  docs/s", `${docsPerSec.toFixed(0)}`, ref?.indexSeconds ? `${(docs.length / ref.indexSeconds).toFixed(0)}` : "-", `[cpu ${(docs.length / buildCpu).toFixed(0)}]`);
  for (const k of [1000, 100]) {
    const qps = queries.length / speeds[k].wall;
    const base = k === 1000 ? ref?.qps1000 : ref?.qps100;
    row(`queries/s top-${k}`, qps.toFixed(0), base ? String(base) : "-", base ? `${(qps / base).toFixed(2)}x` : "");
    row("", "", "", `[cpu ${(queries.length / speeds[k].cpu).toFixed(0)}]`);
  }
  row("save / load", `${(save.wall * 1000).toFixed(0)} / ${(reload.wall * 1000).toFixed(0)} ms`, "-", "");

  console.log(`\nQuality (${split}, top-1000, trec_eval semantics; reference: Lucene 8 BM25 flat k1=0.9 b=0.4)`);
  row("", "winnow", "reference", "diff");
  const show = (label: string, ours: number, base: number | undefined) =>
    row(label, ours.toFixed(4), base === undefined ? "-" : base.toFixed(4), base === undefined ? "" : (ours - base >= 0 ? "+" : "") + (ours - base).toFixed(4));
  show("nDCG@10", quality.ndcg_cut_10, ref?.ndcg10);
  show("R@100", quality.recall_100, ref?.r100);
  show("R@1000", quality.recall_1000, ref?.r1000);
  show("MAP", quality.map, name === "scifact" ? 0.6401 : undefined);
  show("MRR", quality.recip_rank, name === "scifact" ? 0.6506 : undefined);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
