/**
 * BM25+RM3 queries/s against plain BM25 over the same index and queries, one thread.
 * RM3 is a BM25 run for the feedback documents, the expansion, and a second (wider)
 * weighted run, so it costs a few BM25 searches; the ratio says how many.
 * Used by bench/learned.ts; runnable alone: `npx tsx bench/rm3-throughput.ts [--quick]`.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Query } from "../src/core/types.js";
import { loadBeirDataset, readCorpus } from "../src/eval/readers/beir.js";
import { PACKAGE_ROOT } from "../src/rerankers/learned/default-model.js";
import { Bm25Index } from "../src/retrieval/bm25/bm25-index.js";
import { Rm3Retriever } from "../src/retrieval/bm25/rm3.js";

export interface Rm3Throughput {
  k: number;
  bm25Qps: number;
  rm3Qps: number;
}

/** Best of `rounds` timed passes over all queries for each (passes alternate, so drift hits both alike). */
export async function measureRm3Throughput(index: Bm25Index, queries: Query[], ks: number[] = [100, 1000], rounds = 5): Promise<Rm3Throughput[]> {
  const rm3 = new Rm3Retriever(index);
  const out: Rm3Throughput[] = [];
  for (const k of ks) {
    for (const q of queries.slice(0, 30)) {
      await index.search(q, k);
      await rm3.search(q, k);
    }
    let bm25 = Infinity;
    let expanded = Infinity;
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      for (const q of queries) await index.search(q, k);
      bm25 = Math.min(bm25, performance.now() - t);
      t = performance.now();
      for (const q of queries) await rm3.search(q, k);
      expanded = Math.min(expanded, performance.now() - t);
    }
    out.push({ k, bm25Qps: (queries.length * 1000) / bm25, rm3Qps: (queries.length * 1000) / expanded });
  }
  return out;
}

export function formatRm3Throughput(rows: Rm3Throughput[], queries: number): string[] {
  return rows.map(
    (r) =>
      `BM25+RM3 vs BM25 (top ${r.k}, ${queries} queries, one thread): RM3 ${r.rm3Qps.toFixed(0)} queries/s, BM25 ${r.bm25Qps.toFixed(0)} queries/s; RM3 / BM25 throughput ${(r.rm3Qps / r.bm25Qps).toFixed(3)}×`,
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes("--quick");
  const dir = quick ? join(PACKAGE_ROOT, "examples", "scifact-mini") : join(PACKAGE_ROOT, "..", "shared", "datasets", "scifact");
  const index = await Bm25Index.build(readCorpus(dir));
  const { queries } = await loadBeirDataset(dir, "test");
  for (const line of formatRm3Throughput(await measureRm3Throughput(index, queries), queries.length)) console.log(line);
}
