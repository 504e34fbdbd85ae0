/**
 * `npm run bench:rerank -- --family modernbert,xlmr,qwen3[,minilm]`: pairs/s, per-request
 * latency and peak RSS of each reranker family at its real size (generated, seeded
 * weights: speed does not depend on values), fp32 and int8, always beside MiniLM-L6 in
 * the same run, on SciFact test queries with their BM25 candidates (SciFact-length pairs).
 * Each case runs in its own child process (peak RSS is per case). Families:
 *   minilm     minilm-l6        ms-marco-MiniLM-L-6-v2 architecture (the reference)
 *   modernbert modernbert-base  gte-reranker-modernbert-base architecture
 *   xlmr       xlmr-large       bge-reranker-v2-m3 architecture (XLM-R large)
 *   qwen3      qwen3-0.6b       Qwen3-Reranker-0.6B architecture (decoder, yes/no logits)
 * Options: --queries N (default 1), --candidates N (default 16), --dtypes fp32,int8,
 * --threads N, --tiny (the tiny presets: a smoke run of the harness, not a measurement).
 * "Practical on this CPU for 100 candidates" means a 100-candidate request under 2 s.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const scifact = resolve(repoRoot, "../shared/datasets/scifact");

const FAMILIES = {
  minilm: { preset: "minilm-l6", tiny: "tiny-bert", label: "MiniLM-L6 (22.7M)" },
  modernbert: { preset: "modernbert-base", tiny: "tiny-modernbert", label: "ModernBERT-base (149M)" },
  xlmr: { preset: "xlmr-large", tiny: "tiny-xlmr", label: "XLM-R large (568M, bge-reranker-v2-m3)" },
  qwen3: { preset: "qwen3-0.6b", tiny: "tiny-qwen3", label: "Qwen3-0.6B decoder (596M, Qwen3-Reranker)" },
} as const;
type Family = keyof typeof FAMILIES;
const PRACTICAL_MS = 2000;

interface Requests {
  requests: Array<{ query: string; docs: string[] }>;
  source: string;
}

interface CaseResult {
  family: string;
  dtype: string;
  ranDtype: string;
  pairs: number;
  totalMs: number;
  latenciesMs: number[];
  meanTokens: number;
  loadMs: number;
  maxRssMb: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(`--${name}`);

async function scifactRequests(queries: number, candidates: number): Promise<Requests> {
  const { loadBeirDataset, readCorpus } = await import("../src/eval/readers/beir.js");
  const { documentText } = await import("../src/core/inputs.js");
  const dataset = await loadBeirDataset(scifact, "test");
  const corpus = [] as Array<{ id: string; title?: string; text: string }>;
  for await (const d of readCorpus(scifact)) corpus.push(d);
  const qs = dataset.queries.slice(0, queries);
  try {
    const { Bm25Index } = await import("../src/retrieval/bm25/bm25-index.js");
    const index = await Bm25Index.build(corpus);
    const requests = await Promise.all(qs.map(async (q) => ({ query: q.text, docs: (await index.search(q, candidates)).map((c) => documentText(c.document)) })));
    return { requests, source: `BM25 top-${candidates}` };
  } catch {
    const byId = new Map(corpus.map((d) => [d.id, d]));
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const requests = qs.map((q) => {
      const ids = [...(dataset.qrels.get(q.id!)?.keys() ?? [])].filter((id) => byId.has(id));
      while (ids.length < candidates) ids.push(corpus[Math.floor(rand() * corpus.length)].id);
      return { query: q.text, docs: ids.slice(0, candidates).map((id) => documentText(byId.get(id)!)) };
    });
    return { requests, source: "judged + seeded random (BM25 unavailable)" };
  }
}

async function runChild(): Promise<void> {
  const { createReranker } = await import("../src/rerankers/registry.js");
  const work = JSON.parse(readFileSync(arg("requests")!, "utf8")) as Requests;
  const dtype = arg("dtype")!;
  const threads = Number(arg("threads") ?? cpus().length);
  const t0 = performance.now();
  // The cross-encoder spec routes the decoder model to DecoderReranker (its config.json says *ForCausalLM).
  const reranker = await createReranker({ type: "cross-encoder", model: arg("model-dir")!, dtype, threads, truncate: true });
  const loadMs = performance.now() - t0;
  const { DecoderPromptEncoder } = await import("../src/rerankers/decoder/decoder-prompt-encoder.js");
  type Encoder = { encode(...a: unknown[]): { tokens: number } };
  const m = (reranker as unknown as { model?: { dtype: string; encoder: Encoder } }).model;
  // Warm-up: ONNX Runtime plans its buffers on the first runs.
  await reranker.rerank(work.requests[0].query, work.requests[0].docs.slice(0, 2));
  const latencies: number[] = [];
  let pairs = 0;
  let tokens = 0;
  const start = performance.now();
  for (const r of work.requests) {
    const t = performance.now();
    await reranker.rerank(r.query, r.docs);
    latencies.push(performance.now() - t);
    pairs += r.docs.length;
  }
  const totalMs = performance.now() - start;
  // Tokens per pair as the model saw them (the decoder's encode takes the instruction first).
  for (const r of work.requests) {
    // A decoder's prompt encoder takes the instruction first.
    const enc = m!.encoder instanceof DecoderPromptEncoder ? m!.encoder.encode(undefined, r.query, r.docs, { truncate: true }) : m!.encoder.encode(r.query, r.docs, { truncate: true });
    tokens += enc.tokens;
  }
  await reranker.close?.();
  const result: CaseResult = { family: arg("family")!, dtype, ranDtype: m?.dtype ?? dtype, pairs, totalMs, latenciesMs: latencies, meanTokens: tokens / pairs, loadMs, maxRssMb: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

function runCase(family: Family, dtype: string, modelDir: string, requestsFile: string, threads: number): Promise<CaseResult> {
  return new Promise((resolvePromise, reject) => {
    const args = ["--import", "tsx", fileURLToPath(import.meta.url), "--child", "--family", family, "--dtype", dtype, "--model-dir", modelDir, "--requests", requestsFile, "--threads", String(threads)];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], cwd: repoRoot });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) reject(new Error(`${family} ${dtype} exited with ${code}: ${out.slice(-500)}`));
      else resolvePromise(JSON.parse(line.slice(7)) as CaseResult);
    });
  });
}

export async function main(): Promise<void> {
  if (has("child")) return runChild();
  const asked = (arg("family") ?? "modernbert,xlmr,qwen3").split(",").map((f) => f.trim());
  for (const f of asked) if (!Object.hasOwn(FAMILIES, f)) throw new Error(`--family: unknown family "${f}" (known: ${Object.keys(FAMILIES).join(", ")})`);
  // MiniLM-L6 always runs, first: every figure is also a ratio to it, measured in the same run.
  const families = ["minilm", ...asked.filter((f) => f !== "minilm")] as Family[];
  const dtypes = (arg("dtypes") ?? "fp32,int8").split(",");
  const queries = Number(arg("queries") ?? 1);
  const candidates = Number(arg("candidates") ?? 16);
  const threads = Number(arg("threads") ?? cpus().length);
  const tiny = has("tiny");
  const { ensureGeneratedModel } = await import("../src/onnx/generate.js");
  const work = await scifactRequests(queries, candidates);
  const dir = mkdtempSync(join(tmpdir(), "winnow-bench-families-"));
  const requestsFile = join(dir, "requests.json");
  writeFileSync(requestsFile, JSON.stringify(work));
  console.log(`bench:rerank --family — ${queries} SciFact test quer${queries === 1 ? "y" : "ies"} × ${candidates} candidates (${work.source}), ${threads} threads, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores${tiny ? ", TINY presets (harness smoke run, not a measurement)" : ""}`);
  const results: CaseResult[] = [];
  try {
    for (const f of families) {
      const preset = tiny ? FAMILIES[f].tiny : FAMILIES[f].preset;
      const g0 = performance.now();
      const modelDir = await ensureGeneratedModel(preset);
      const genS = (performance.now() - g0) / 1000;
      if (genS > 1) console.log(`  generated ${preset} in ${genS.toFixed(0)} s`);
      for (const dtype of dtypes) {
        const r = await runCase(f, dtype, modelDir, requestsFile, threads);
        results.push(r);
        console.log(`  ${f.padEnd(10)} ${dtype.padEnd(4)} ${(r.pairs / (r.totalMs / 1000)).toFixed(2).padStart(8)} pairs/s  ${r.maxRssMb.toFixed(0).padStart(6)} MB peak RSS  (${r.meanTokens.toFixed(0)} tokens/pair)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (r: CaseResult) => r.pairs / (r.totalMs / 1000);
  const ref = (dtype: string) => results.find((r) => r.family === "minilm" && r.dtype === dtype);
  console.log(`\n| family | dtype (ran) | pairs/s | ms per pair | 100 candidates (est.) | peak RSS | × MiniLM-L6 same dtype | practical on ${cpus().length} cores for 100 candidates |`);
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    const perPair = r.totalMs / r.pairs;
    const hundred = perPair * 100;
    const base = ref(r.dtype);
    const ratio = base ? rate(r) / rate(base) : NaN;
    const practical = hundred <= PRACTICAL_MS ? "yes" : hundred <= 5 * PRACTICAL_MS ? "marginal (cascade: rerank its top 20)" : "no: needs a GPU";
    console.log(`| ${FAMILIES[r.family as Family].label} | ${r.dtype}${r.ranDtype !== r.dtype ? ` (${r.ranDtype})` : ""} | ${rate(r).toFixed(2)} | ${perPair.toFixed(0)} | ${(hundred / 1000).toFixed(1)} s | ${r.maxRssMb.toFixed(0)} MB | ${ratio.toFixed(3)} | ${practical} |`);
  }
}

if (has("child") || process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
