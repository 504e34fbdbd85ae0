/**
 * `npm run bench:colbert [-- --quick] [-- --docs N] [-- --queries N]`: ColBERT late interaction
 * against the int8 MiniLM-L6 cross-encoder, all in one run on this machine.
 *
 * Models are generated (seeded random weights: speed does not depend on values):
 * bert-base-colbert (the colbert-ir/colbertv2.0 architecture, 128 dims) and
 * minilm-l12-colbert (answerai-colbert-small-v1's, 96 dims); the baseline is minilm-l6
 * int8 (ms-marco-MiniLM-L-6-v2's). `--quick` uses tiny-colbert and tiny-bert instead.
 *
 * Prints:
 * - query encoding ms (p50) per ColBERT model;
 * - MaxSim ms for 100 and 1,000 stored candidates of 200 tokens at 128 dims, one core
 *   (the JS kernel; target ≤ 20 ms for 1,000), read from an fp16 store and from memory;
 * - index build docs/s (encode + write an fp16 store) on SciFact abstracts (30 for bert-base, 60 for MiniLM);
 * - bytes per token and Kendall τ against uncompressed vectors for each compression mode
 *   (fp32, fp16, residual 2-/1-bit, token pooling ×2 and ×3 over fp16 and 2-bit);
 * - end-to-end rerank of 100 BM25 candidates with stored vectors (query encoding + store
 *   reads + MaxSim) against the int8 cross-encoder on the same 100 candidates, and the
 *   ratio (target ≥ 10×), measured request by request in alternation.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadBeirDataset, readCorpus } from "../src/eval/readers/beir.js";
import type { Document } from "../src/core/types.js";
import { SeededRandom } from "../src/core/seeded-random.js";
import { ensureGeneratedModel } from "../src/onnx/generate.js";
import { ColbertEncoder } from "../src/rerankers/colbert/colbert-encoder.js";
import { ColbertReranker } from "../src/rerankers/colbert/colbert-reranker.js";
import { maxSim } from "../src/rerankers/colbert/maxsim.js";
import { normalizeRows, type TokenMatrix } from "../src/rerankers/colbert/token-matrix.js";
import { CrossEncoderReranker } from "../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { Bm25Index } from "../src/retrieval/bm25/bm25-index.js";
import { buildTokenStore, type CompressionName } from "../src/retrieval/colbert/build-token-store.js";
import { measureStoreFidelity } from "../src/retrieval/colbert/store-fidelity.js";
import { TokenStore, TokenStoreWriter } from "../src/retrieval/colbert/token-store.js";

const { values } = parseArgs({
  options: { quick: { type: "boolean", default: false }, docs: { type: "string" }, queries: { type: "string" } },
});
const quick = values.quick!;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dataset = quick ? join(repoRoot, "examples/scifact-mini") : resolve(repoRoot, "../shared/datasets/scifact");
// Documents are encoded once (bert-base on this machine: about a second each), then every store is built from those vectors.
const DOCS = Number(values.docs ?? (quick ? 150 : 100));
const QUERIES = Number(values.queries ?? (quick ? 5 : 10));
const work = mkdtempSync(join(tmpdir(), "winnow-bench-colbert-"));

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);
const line = (label: string, value: string, note = "") => console.log(`${label.padEnd(58)} ${value.padStart(12)}  ${note}`);

console.log(`bench:colbert — ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load ${loadavg()[0].toFixed(2)}; ${quick ? "quick (tiny models)" : "full-size generated models"}; SciFact slice of ${DOCS} documents, ${QUERIES} queries`);

// ---------------------------------------------------------------- data
const docs: Document[] = [];
for await (const d of readCorpus(dataset)) if (docs.push(d) >= DOCS) break;
const index = await Bm25Index.build(docs);
const { queries } = await loadBeirDataset(dataset, "test");
const used = queries.slice(0, QUERIES).map((q) => q.text);
const corpus = { size: docs.length, document: (i: number) => docs[i] };

// ---------------------------------------------------------------- models
const presets = quick ? (["tiny-colbert"] as const) : (["bert-base-colbert", "minilm-l12-colbert"] as const);
const mainPreset = presets[0];
const modelDirs = new Map<string, string>();
for (const p of presets) modelDirs.set(p, await ensureGeneratedModel(p));
const crossDir = await ensureGeneratedModel(quick ? "tiny-bert" : "minilm-l6");

// ---------------------------------------------------------------- 1. query encoding
console.log("\n1. query encoding (ONNX Runtime, all cores; 32 tokens with [MASK] padding)");
for (const p of presets) {
  const enc = await ColbertEncoder.load({ model: modelDirs.get(p)! });
  for (const q of used.slice(0, 3)) await enc.encodeQuery(q);
  const times: number[] = [];
  for (const q of used) {
    const t = performance.now();
    await enc.encodeQuery(q);
    times.push(performance.now() - t);
  }
  line(`   ${p} (${enc.dims} dims)`, `${ms(p50(times))} ms`, "p50");
  await enc.close();
}

// ---------------------------------------------------------------- 2. MaxSim
console.log("\n2. MaxSim, one core (JS kernel), 32 query tokens × 200 document tokens × 128 dims");
const rng = new SeededRandom(11);
const unit = (rows: number, dims: number): TokenMatrix => {
  const data = rng.fill(rows * dims, 1);
  normalizeRows(data, dims);
  return { rows, dims, data };
};
const synthetic = Array.from({ length: 1000 }, () => unit(200, 128));
const query128 = unit(32, 128);
const synthStore = join(work, "synthetic");
{
  const writer = await TokenStoreWriter.create(join(synthStore, "colbert"), { identity: "synthetic", id: "synthetic", dims: 128 }, { kind: "fp16" });
  for (const [i, m] of synthetic.entries()) await writer.add(`s${i}`, `s${i}`, m);
  await writer.finish();
}
const store128 = await TokenStore.open(synthStore);
for (const n of [100, 1000]) {
  const inMemory: number[] = [];
  const fromStore: number[] = [];
  for (let rep = 0; rep < (n === 1000 ? 5 : 20); rep++) {
    let t = performance.now();
    for (let i = 0; i < n; i++) maxSim(query128, synthetic[i].data, 200);
    inMemory.push(performance.now() - t);
    t = performance.now();
    for (let i = 0; i < n; i++) {
      const m = store128.vectors(`s${i}`, `s${i}`)!;
      maxSim(query128, m.data, m.rows);
    }
    fromStore.push(performance.now() - t);
  }
  line(`   ${n} candidates, vectors in memory`, `${ms(p50(inMemory))} ms`, n === 1000 ? `target ≤ 20 ms: ${p50(inMemory) <= 20 ? "met" : "NOT met"}` : "");
  line(`   ${n} candidates, read from an fp16 store`, `${ms(p50(fromStore))} ms`, `(${((n * 32 * 200 * 128) / (p50(inMemory) / 1000) / 1e9).toFixed(2)} GMAC/s in memory)`);
}
store128.close();

// ---------------------------------------------------------------- 3. index build
console.log(`\n3. index build: encode ${docs.length} SciFact abstracts and write an fp16 store`);
const encoder = await ColbertEncoder.load({ model: modelDirs.get(mainPreset)! });
for (const p of presets) {
  const enc = p === mainPreset ? encoder : await ColbertEncoder.load({ model: modelDirs.get(p)! });
  const slice = { size: Math.min(docs.length, quick ? 150 : p === "bert-base-colbert" ? 30 : 60), document: corpus.document };
  const t = performance.now();
  await buildTokenStore({ indexDir: join(work, `build-${p}`), encoder: enc, documents: slice, compression: "fp16" });
  line(`   ${p}`, `${(slice.size / ((performance.now() - t) / 1000)).toFixed(1)} docs/s`, `${slice.size} documents`);
  if (enc !== encoder) await enc.close();
}

// ---------------------------------------------------------------- 4. compression
console.log(`\n4. compression: bytes/token and Kendall τ of MaxSim rankings vs uncompressed (${mainPreset}, ${encoder.dims} dims, ${docs.length} docs, BM25 top-100 of ${used.length} queries)`);
const exact = await encoder.encodeDocuments(docs.map((d) => `${d.title ?? ""} ${d.text}`.trim()));
const queryMatrices = await Promise.all(used.map((q) => encoder.encodeQuery(q)));
const candidates = await Promise.all(used.map(async (q) => (await index.search(q, 100)).map((h) => index.docIndex(h.document.id)!)));
const rawTokens = exact.reduce((n, m) => n + m.rows, 0);
const modes: Array<[CompressionName, number]> = [["fp32", 1], ["fp16", 1], ["residual-2bit", 1], ["residual-1bit", 1], ["fp16", 2], ["fp16", 3], ["residual-2bit", 2]];
for (const [mode, pooling] of modes) {
  const dir = join(work, `${mode}-p${pooling}`);
  const manifest = await buildTokenStore({ indexDir: dir, encoder, documents: corpus, compression: mode, pooling, centroids: quick ? 256 : 1024, encoded: exact });
  const store = await TokenStore.open(dir);
  const f = measureStoreFidelity(store, exact, queryMatrices, candidates);
  const perRaw = (manifest.bytesPerToken * manifest.tokens) / rawTokens;
  const label = `   ${mode}${pooling > 1 ? ` + pooling ×${pooling}` : ""}`;
  const target = mode === "residual-2bit" && pooling === 1 && encoder.dims === 128 ? `target ≤ 40 at 128 dims: ${manifest.bytesPerToken <= 40 ? "met" : "NOT met"}` : "";
  line(label, `${manifest.bytesPerToken} B/tok`, `${perRaw.toFixed(1)} B per unpooled token; τ ${f.kendallTau.toFixed(4)} (min ${f.minKendallTau.toFixed(3)}) ${target}`);
  store.close();
}

// ---------------------------------------------------------------- 5. end to end
console.log(`\n5. end-to-end rerank of 100 BM25 candidates (same candidates, alternating request by request)`);
const storeDir = join(work, "fp16-p1");
const colbert = await ColbertReranker.load({ model: modelDirs.get(mainPreset)!, store: await TokenStore.open(storeDir) });
const cross = await CrossEncoderReranker.load({ model: crossDir, dtype: "int8" });
const requests = await Promise.all(used.map(async (q) => ({ q, hits: await index.search(q, 100) })));
await colbert.rerank(requests[0].q, requests[0].hits);
await cross.rerank(requests[0].q, requests[0].hits);
const tc: number[] = [];
const tx: number[] = [];
const ratios: number[] = [];
for (const r of requests) {
  let t = performance.now();
  const a = await colbert.rerank(r.q, r.hits);
  const c = performance.now() - t;
  t = performance.now();
  await cross.rerank(r.q, r.hits);
  const x = performance.now() - t;
  if (a.some((h) => h.details?.stored !== true)) throw new Error("a candidate was encoded: the store must hold every document");
  tc.push(c);
  tx.push(x);
  ratios.push(x / c);
}
line(`   colbert ${mainPreset}, stored fp16 vectors`, `${ms(p50(tc))} ms`, "p50 per 100 candidates (query encoding + reads + MaxSim)");
line(`   cross-encoder ${quick ? "tiny-bert" : "minilm-l6"} int8`, `${ms(p50(tx))} ms`, "p50 per 100 candidates");
line(`   speed-up (median of per-request ratios)`, `${p50(ratios).toFixed(1)}×`, `target ≥ 10×: ${p50(ratios) >= 10 ? "met" : "NOT met"}`);
await colbert.close();
await cross.close();
await encoder.close();
rmSync(work, { recursive: true, force: true });
