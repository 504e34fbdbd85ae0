/**
 * `npm run bench:rerank [-- --quick] [-- --sweep]`: cross-encoder throughput, latency
 * and memory on the generated MiniLM-L6-H384 (the ms-marco-MiniLM-L-6-v2 architecture,
 * seeded random weights: speed does not depend on weight values).
 *
 * Cases, each in its own child process so peak RSS is per case, taking turns request
 * by request (rotating who goes first) so that drift of a shared machine hits all alike;
 * besides the overall ratios it prints the median per-request ratio to (a):
 *   (a) the baseline people copy from transformers.js examples: AutoTokenizer +
 *       AutoModelForSequenceClassification, one padded batch of 100, fp32;
 *   (b) Winnow fp32; (c) Winnow int8 (token-budget batches, length-sorted).
 * Workloads: 100 candidates per real SciFact test query (BM25 top-100), and 100 fixed
 * 256-token passages per query. Prints pairs/s, p50/p95 per 100-candidate request,
 * peak RSS, ratios to (a), and the compute ceiling: FLOPs per pair against this machine's
 * fp32 and int8 peaks, measured at the start of the run (a large MatMul and MatMulInteger
 * through ONNX Runtime, with the bench's threads), beside the int8 kernel family that case
 * (c) runs (the int8 probe, and the weights of the graph the loader chose).
 * `--int8-weights s8|u8|s8-reduce-range` runs case (c) on a copy quantized with that scheme
 * (default: the generated model's, the scheme exact on this CPU); `--peaks-only` prints the
 * probe and the peaks and stops; `--schemes [--rounds N]` times the whole model with each
 * int8 weight scheme against fp32 and stops.
 * `--family modernbert,xlmr,qwen3[,minilm]` instead times each family at its real size, fp32 and
 * int8, beside MiniLM-L6 (bench/rerank-families.ts).
 * `--sweep [--budgets 256,512,…] [--sweep-cases c,b] [--all-workloads] [--arena-off]` instead times Winnow over a range
 * of batchTokens (how the default was chosen).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const scifact = resolve(repoRoot, "../shared/datasets/scifact");
const PRESET = "minilm-l6";
// MiniLM-L6-H384 shape, for the FLOP count.
const LAYERS = 6, HIDDEN = 384, INTERMEDIATE = 1536;

interface Workload {
  name: string;
  requests: Array<{ query: string; docs: string[] }>;
}

interface CaseResult {
  case: string;
  workload: string;
  pairs: number;
  totalMs: number;
  latenciesMs: number[];
  tokenizeMs: number;
  /** Mean unpadded tokens per pair (query + document + specials), as the model saw them. */
  meanTokens: number;
  maxRssMb: number;
  /** Case (c): which int8 graph the loader chose and how (model.int8). */
  int8?: { file: string; weights: string; how: string; exact: boolean };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const has = (name: string) => process.argv.includes(`--${name}`);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

// ------------------------------------------------------------------ child: one case

async function runChild(caseName: string, workloadFile: string, modelDir: string, batchTokens?: number, memoryArena?: boolean): Promise<void> {
  const workload = JSON.parse(readFileSync(workloadFile, "utf8")) as Workload;
  const threads = Number(arg("threads") ?? cpus().length);
  const latencies: number[] = [];
  let tokenizeMs = 0;
  let tokens = 0;
  let pairs = 0;
  let run: (r: Workload["requests"][number]) => Promise<void>;
  let close = async () => {};
  let int8: CaseResult["int8"];

  if (caseName === "a") {
    const { AutoTokenizer, AutoModelForSequenceClassification, env } = await import("@huggingface/transformers");
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = dirname(modelDir) + "/";
    const name = modelDir.split("/").pop()!;
    const tokenizer = await AutoTokenizer.from_pretrained(name);
    const model = await AutoModelForSequenceClassification.from_pretrained(name, { dtype: "fp32", session_options: { intraOpNumThreads: threads } });
    run = async ({ query, docs }) => {
      const t0 = performance.now();
      const inputs = tokenizer(new Array(docs.length).fill(query), { text_pair: docs, padding: true, truncation: true });
      tokenizeMs += performance.now() - t0;
      const mask = inputs.attention_mask.data as BigInt64Array;
      for (let i = 0; i < mask.length; i++) tokens += Number(mask[i]);
      const out = await model(inputs);
      if ((out.logits.data as Float32Array).length !== docs.length) throw new Error("baseline: unexpected output size");
    };
    close = async () => {
      await model.dispose();
    };
  } else {
    const { CrossEncoderReranker } = await import("../src/rerankers/cross-encoder/cross-encoder-reranker.js");
    // truncate: the same work as the baseline (which truncates at 512); windowing would score more tokens.
    const reranker = await CrossEncoderReranker.load({ model: caseName === "c" ? (arg("int8-dir") ?? modelDir) : modelDir, dtype: caseName === "c" ? "int8" : "fp32", threads, batchTokens, memoryArena, truncate: true });
    const state = reranker.model!.int8;
    if (state) int8 = { file: state.file, weights: state.weights, how: state.how, exact: state.exact };
    run = async ({ query, docs }) => {
      const prepared = await reranker.batchScorer.prepare(query, docs);
      tokenizeMs += prepared.tokenizeMs;
      tokens += prepared.tokens;
      await reranker.batchScorer.scoreUnits(prepared.units);
    };
    close = () => reranker.close();
  }
  // One warm-up request (session initialisation, first allocations), not timed.
  await run(workload.requests[0]);
  tokenizeMs = 0;
  tokens = 0;
  if (has("interleaved")) {
    // The parent hands out one request at a time ("<index>" lines on stdin) so that the
    // cases take turns and drift of the shared machine hits them alike; "end" finishes.
    process.stdout.write("READY\n");
    const { createInterface } = await import("node:readline");
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === "end") break;
      const i = Number(line);
      const before = { tokenizeMs, tokens };
      const t0 = performance.now();
      await run(workload.requests[i]);
      const ms = performance.now() - t0;
      process.stdout.write(`DONE ${JSON.stringify({ i, ms, tokenizeMs: tokenizeMs - before.tokenizeMs, tokens: tokens - before.tokens })}\n`);
    }
    await close();
    // stdin stays open (the parent's pipe), so leave explicitly once the line is out.
    process.stdout.write(`RESULT ${JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024, int8 })}\n`, () => process.exit(0));
    return;
  }
  const start = performance.now();
  for (const r of workload.requests) {
    const t0 = performance.now();
    await run(r);
    latencies.push(performance.now() - t0);
    pairs += r.docs.length;
  }
  const totalMs = performance.now() - start;
  await close();
  const result: CaseResult = {
    case: caseName,
    workload: workload.name,
    pairs,
    totalMs,
    latenciesMs: latencies,
    tokenizeMs,
    meanTokens: tokens / pairs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    int8,
  };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/**
 * Runs cases a, b, c in their own processes, taking turns request by request (the
 * order rotates each round), and returns each case's totals as if it had run alone.
 * A case name may carry a batch budget, `c@256`: case c with `--batch-tokens 256`.
 */
async function runInterleaved(cases: string[], workloadFile: string, workload: Workload, modelDir: string, extra: string[]): Promise<Map<string, CaseResult>> {
  type Child = { name: string; send(line: string): void; next(): Promise<string>; end(): Promise<string> };
  const children: Child[] = [];
  for (const name of cases) {
    // One at a time: warm-ups do not overlap.
    const [caseName, budget] = name.split("@");
    const own = budget ? ["--batch-tokens", budget] : [];
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", caseName, "--workload", workloadFile, "--model-dir", modelDir, "--interleaved", ...extra, ...own], {
      stdio: ["pipe", "pipe", "inherit"],
      cwd: repoRoot,
    });
    const lines: string[] = [];
    const waiters: Array<(l: string) => void> = [];
    let buf = "";
    child.stdout.on("data", (b: Buffer) => {
      buf += b.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!/^(READY|DONE|RESULT)/.test(line)) continue;
        const w = waiters.shift();
        if (w) w(line);
        else lines.push(line);
      }
    });
    let finished = false;
    const exited = new Promise<never>((_, reject) => child.on("exit", (code) => finished || reject(new Error(`case ${name} exited with ${code}`))));
    exited.catch(() => undefined);
    const c: Child = {
      name,
      send: (line) => child.stdin.write(`${line}\n`),
      next: () => Promise.race([lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise<string>((r) => waiters.push(r)), exited]),
      end: async () => {
        const result = c.next();
        finished = true;
        child.stdin.end();
        return result;
      },
    };
    const ready = await c.next();
    if (ready !== "READY") throw new Error(`case ${name}: expected READY, got ${ready}`);
    children.push(c);
  }
  const results = new Map<string, CaseResult>(
    cases.map((name) => [name, { case: name, workload: workload.name, pairs: 0, totalMs: 0, latenciesMs: [], tokenizeMs: 0, meanTokens: 0, maxRssMb: 0 }]),
  );
  const tokens = new Map(cases.map((n) => [n, 0]));
  for (const [i, r] of workload.requests.entries()) {
    for (let k = 0; k < children.length; k++) {
      const child = children[(i + k) % children.length];
      child.send(String(i));
      const done = JSON.parse((await child.next()).slice(5)) as { ms: number; tokenizeMs: number; tokens: number };
      const res = results.get(child.name)!;
      res.pairs += r.docs.length;
      res.totalMs += done.ms;
      res.latenciesMs.push(done.ms);
      res.tokenizeMs += done.tokenizeMs;
      tokens.set(child.name, tokens.get(child.name)! + done.tokens);
    }
  }
  for (const child of children) {
    child.send("end");
    // (end() closes stdin after "end" and accepts the exit that follows the RESULT line)
    const res = results.get(child.name)!;
    const last = JSON.parse((await child.end()).slice(7)) as { maxRssMb: number; int8?: CaseResult["int8"] };
    res.maxRssMb = last.maxRssMb;
    res.int8 = last.int8;
    res.meanTokens = tokens.get(child.name)! / res.pairs;
  }
  return results;
}

// ------------------------------------------------------------------ parent

async function buildWorkloads(modelDir: string, queries: number, candidates: number): Promise<Workload[]> {
  const { loadBeirDataset, readCorpus } = await import("../src/eval/readers/beir.js");
  const { documentText } = await import("../src/core/inputs.js");
  const { Tokenizer } = await import("@huggingface/tokenizers");
  const dataset = await loadBeirDataset(scifact, "test");
  const corpus = [] as Array<{ id: string; title?: string; text: string }>;
  for await (const d of readCorpus(scifact)) corpus.push(d);
  const qs = dataset.queries.slice(0, queries);

  let source = "BM25 top-100";
  let pools: string[][];
  try {
    const { Bm25Index } = await import("../src/retrieval/bm25/bm25-index.js");
    const index = await Bm25Index.build(corpus);
    pools = await Promise.all(qs.map(async (q) => (await index.search(q, candidates)).map((c) => documentText(c.document))));
  } catch {
    // No BM25 yet: the judged documents padded with seeded random ones.
    source = "judged + seeded random";
    let s = 12345;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const byId = new Map(corpus.map((d) => [d.id, d]));
    pools = qs.map((q) => {
      const ids = [...(dataset.qrels.get(q.id!)?.keys() ?? [])].filter((id) => byId.has(id));
      while (ids.length < candidates) ids.push(corpus[Math.floor(rand() * corpus.length)].id);
      return ids.slice(0, candidates).map((id) => documentText(byId.get(id)!));
    });
  }
  const scifactWorkload: Workload = { name: `scifact (${source})`, requests: qs.map((q, i) => ({ query: q.text, docs: pools[i] })) };

  // Fixed 256-token passages: corpus text cut at 256 tokens (the pair is then 256 + query + specials).
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(join(modelDir, "tokenizer.json"), "utf8")), JSON.parse(readFileSync(join(modelDir, "tokenizer_config.json"), "utf8")));
  const long = corpus.filter((d) => d.text.length > 2000);
  const passages: string[] = [];
  for (const d of long) {
    const ids = tokenizer.encode(d.text, { add_special_tokens: false }).ids;
    if (ids.length >= 256) passages.push(tokenizer.decode(ids.slice(0, 256), { skip_special_tokens: true }));
    if (passages.length >= candidates * 2) break;
  }
  const fixed: Workload = {
    name: "fixed 256-token passages",
    requests: qs.map((q, i) => ({ query: q.text, docs: Array.from({ length: candidates }, (_, k) => passages[(i * 7 + k) % passages.length]) })),
  };
  return [scifactWorkload, fixed];
}

function runCase(caseName: string, workloadFile: string, modelDir: string, extra: string[] = []): Promise<CaseResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", caseName, "--workload", workloadFile, "--model-dir", modelDir, ...extra], {
      stdio: ["ignore", "pipe", "inherit"],
      cwd: repoRoot,
    });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) reject(new Error(`case ${caseName} exited with ${code}: ${out.slice(-500)}`));
      else resolvePromise(JSON.parse(line.slice(7)) as CaseResult);
    });
  });
}

interface Peaks {
  fp32: number;
  /** u8 activations × s8 weights, and × u8 weights (ops/s; multiply and add count as 2). */
  s8: number;
  u8: number;
}

/**
 * This machine's fp32 and int8 matrix-multiply peaks now, through ONNX Runtime with the
 * bench's threads: a [M, K] × [K, N] MatMul (fp32) and MatMulInteger (u8 × s8 and u8 × u8
 * constant weights, the kernels DynamicQuantizeMatMul runs), best of `runs` after warm-up.
 * Measured rather than copied from a spec sheet: the same bench runs on other CPUs.
 */
async function measurePeaks(threads: number, runs = 15): Promise<Peaks> {
  const ort = await import("onnxruntime-node");
  const { DataType, GraphBuilder, encodeModel, floatTensor, int8Tensor, tensorValueInfo, uint8Tensor } = await import("../src/onnx/onnx-graph.js");
  const [M, K, N] = [512, 1024, 1024];
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const graph = (weight: "fp32" | "s8" | "u8") => {
    const g = new GraphBuilder(["a"]);
    const w = weight === "fp32" ? g.addInitializer(floatTensor("w", [K, N], Float32Array.from({ length: K * N }, () => rand() - 0.5)))
      : weight === "s8" ? g.addInitializer(int8Tensor("w", [K, N], Int8Array.from({ length: K * N }, () => Math.floor(rand() * 255) - 127)))
      : g.addInitializer(uint8Tensor("w", [K, N], Uint8Array.from({ length: K * N }, () => Math.floor(rand() * 256))));
    const inputs = weight === "fp32" ? ["a", w] : weight === "s8" ? ["a", w] : ["a", w, "", g.addInitializer(uint8Tensor("zp", [], Uint8Array.of(128)))];
    g.node(weight === "fp32" ? "MatMul" : "MatMulInteger", inputs, ["y"]);
    return encodeModel({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      graph: { name: "peak", node: g.nodes, initializer: g.initializers, input: [tensorValueInfo("a", weight === "fp32" ? DataType.FLOAT : DataType.UINT8, [M, K])], output: [tensorValueInfo("y", weight === "fp32" ? DataType.FLOAT : DataType.INT32, [M, N])] },
    });
  };
  const time = async (weight: "fp32" | "s8" | "u8") => {
    const session = await ort.InferenceSession.create(graph(weight), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" });
    const a = weight === "fp32" ? new ort.Tensor("float32", Float32Array.from({ length: M * K }, () => rand() - 0.5), [M, K]) : new ort.Tensor("uint8", Uint8Array.from({ length: M * K }, () => Math.floor(rand() * 256)), [M, K]);
    let best = Infinity;
    for (let i = 0; i < runs + 3; i++) {
      const t0 = performance.now();
      await session.run({ a });
      if (i >= 3) best = Math.min(best, performance.now() - t0);
    }
    await session.release();
    return (2 * M * K * N) / (best / 1000);
  };
  return { fp32: await time("fp32"), s8: await time("s8"), u8: await time("u8") };
}

/**
 * `--schemes`: the whole model with each int8 weight scheme against fp32, plain ONNX Runtime
 * sessions taking turns batch by batch (8 × 128 tokens; speed does not depend on the ids),
 * median wall and CPU ms per batch. CPU time is the figure to read on a shared machine.
 */
async function timeSchemes(modelDir: string, workDir: string, threads: number, probe: import("../src/onnx/int8-kernel-probe.js").Int8KernelProbe, rounds: number): Promise<void> {
  const ort = await import("onnxruntime-node");
  const { quantizeFile } = await import("../src/onnx/quantize.js");
  const { schemeIsExact, INT8_WEIGHT_SCHEMES } = await import("../src/onnx/int8-kernel-probe.js");
  const files: Record<string, string> = { fp32: join(modelDir, "onnx/model.onnx") };
  for (const w of INT8_WEIGHT_SCHEMES) {
    files[w] = join(workDir, `${w}.onnx`);
    await quantizeFile(files.fp32, files[w], { weights: w, probe });
  }
  const [rows, L] = [8, 128];
  const ids = BigInt64Array.from({ length: rows * L }, (_, i) => BigInt(1000 + ((i * 7919) % 20000)));
  const feeds = {
    input_ids: new ort.Tensor("int64", ids, [rows, L]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(rows * L).fill(1n), [rows, L]),
    token_type_ids: new ort.Tensor("int64", new BigInt64Array(rows * L), [rows, L]),
  };
  const sessions = Object.fromEntries(await Promise.all(Object.entries(files).map(async ([k, f]) => [k, await ort.InferenceSession.create(f, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" })] as const)));
  const wall: Record<string, number[]> = Object.fromEntries(Object.keys(files).map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(files).map((k) => [k, []]));
  for (const session of Object.values(sessions)) await session.run(feeds);
  for (let r = 0; r < rounds; r++) {
    for (const [k, session] of Object.entries(sessions)) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await session.run(feeds);
      wall[k].push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[k].push((c.user + c.system) / 1000);
    }
  }
  console.log(`\nint8 weight schemes, ${PRESET}, batches of ${rows} × ${L} tokens, ${threads} threads, median of ${rounds} interleaved rounds (load average ${loadavg()[0].toFixed(1)}):`);
  console.log("graph             wall ms  cpu ms  fp32 cpu / cpu  exact on this CPU");
  for (const k of Object.keys(files)) {
    const exact = k === "fp32" ? "-" : schemeIsExact(probe, k as (typeof INT8_WEIGHT_SCHEMES)[number]) ? "yes" : "NO (saturates)";
    console.log(`${k.padEnd(16)}  ${percentile(wall[k], 50).toFixed(1).padStart(7)}  ${percentile(cpu[k], 50).toFixed(1).padStart(6)}  ${(percentile(cpu.fp32, 50) / percentile(cpu[k], 50)).toFixed(2).padStart(14)}  ${exact}`);
  }
  for (const session of Object.values(sessions)) await session.release();
}

/** Which int8 kernel family case (c)'s graph runs on, from the probe and the weights the loader chose. */
function int8Family(probe: import("../src/onnx/int8-kernel-probe.js").Int8KernelProbe, state: CaseResult["int8"], reduceRange: boolean): { label: string; weights: "s8" | "u8" } {
  if (!state || state.how === "fp32-fallback") return { label: "none (fp32 fallback)", weights: "u8" };
  // ONNX Runtime's load-time conversion and u8 graphs both run the u8×u8 kernels.
  if (state.weights === "u8" || state.how === "precision-mode" || state.how === "requantized") {
    return { label: probe.s8.exact ? "u8×u8 (this CPU also has exact u8×s8)" : probe.arch === "x64" ? "AVX2 u8×u8" : "u8×u8", weights: "u8" };
  }
  if (reduceRange) return { label: `reduce-range (7-bit s8 weights, u8×s8 kernel${probe.s8.exact ? "" : " without saturation"})`, weights: "s8" };
  return { label: probe.s8.exact ? probe.kernel : "u8×s8 SATURATING (scores wrong)", weights: "s8" };
}

/** FLOPs of one pair of `L` tokens: 2·params per token over the encoder's matmuls (embeddings excluded) + attention 4·L²·H per layer. */
function flopsPerPair(L: number): number {
  const paramsPerLayer = 4 * HIDDEN * HIDDEN + 2 * HIDDEN * INTERMEDIATE;
  return LAYERS * (2 * paramsPerLayer * L + 4 * L * L * HIDDEN);
}

const LABELS: Record<string, string> = { a: "(a) transformers.js, 1 batch of 100, fp32", b: "(b) Winnow fp32", c: "(c) Winnow int8" };

async function main(): Promise<void> {
  // --family: the per-family figures (bench/rerank-families.ts), MiniLM-L6 beside them.
  if (arg("family") !== undefined) return (await import("./rerank-families.js")).main();
  if (has("child")) {
    const bt = arg("batch-tokens");
    const arena = arg("memory-arena");
    return runChild(arg("child")!, arg("workload")!, arg("model-dir")!, bt ? Number(bt) : undefined, arena === undefined ? undefined : arena === "on");
  }
  const quick = has("quick");
  const queries = Number(arg("queries") ?? (quick ? 2 : 10));
  const candidates = 100;
  const threads = Number(arg("threads") ?? cpus().length);
  const { ensureGeneratedModel } = await import("../src/onnx/generate.js");
  const modelDir = await ensureGeneratedModel(PRESET);
  const workDir = join(tmpdir(), `winnow-bench-rerank-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  console.log(`bench:rerank — ${PRESET} (generated), ${queries} queries × ${candidates} candidates, ${threads} threads, load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`);
  const { probeInt8Kernels, formatInt8Probe, INT8_WEIGHT_SCHEMES } = await import("../src/onnx/int8-kernel-probe.js");
  const probe = await probeInt8Kernels();
  console.log(formatInt8Probe(probe));
  // --int8-weights: case (c) on a copy of the model quantized with that scheme.
  const int8Weights = arg("int8-weights");
  const childExtra: string[] = [];
  if (int8Weights !== undefined) {
    if (!(INT8_WEIGHT_SCHEMES as readonly string[]).includes(int8Weights)) throw new Error(`--int8-weights must be one of ${INT8_WEIGHT_SCHEMES.join(", ")}, got "${int8Weights}"`);
    const { quantizeFile } = await import("../src/onnx/quantize.js");
    const { cpSync } = await import("node:fs");
    const int8Dir = join(workDir, `model-${int8Weights}`);
    mkdirSync(join(int8Dir, "onnx"), { recursive: true });
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "onnx/model.onnx"]) cpSync(join(modelDir, f), join(int8Dir, f));
    await quantizeFile(join(modelDir, "onnx/model.onnx"), join(int8Dir, "onnx/model_quantized.onnx"), { weights: int8Weights as (typeof INT8_WEIGHT_SCHEMES)[number] });
    childExtra.push("--int8-dir", int8Dir);
  }
  const peaks = await measurePeaks(threads);
  const gops = (x: number) => (x / 1e9).toFixed(0);
  console.log(`Peaks measured now (ONNX Runtime, 512×1024×1024, ${threads} threads, best of 15): fp32 MatMul ${gops(peaks.fp32)} GFLOP/s; int8 MatMulInteger u8×s8 ${gops(peaks.s8)} GOPS (${probe.s8.exact ? "exact here" : "saturates here"}), u8×u8 ${gops(peaks.u8)} GOPS (${probe.u8.exact ? "exact" : "not exact"}); int8/fp32 ${(peaks.s8 / peaks.fp32).toFixed(2)} (s8), ${(peaks.u8 / peaks.fp32).toFixed(2)} (u8)`);
  if (has("schemes")) {
    await timeSchemes(modelDir, workDir, threads, probe, Number(arg("rounds") ?? 25));
    rmSync(workDir, { recursive: true, force: true });
    return;
  }
  if (has("peaks-only")) {
    rmSync(workDir, { recursive: true, force: true });
    return;
  }
  const workloads = await buildWorkloads(modelDir, queries, candidates);
  const files = workloads.map((w, i) => {
    const f = join(workDir, `workload-${i}.json`);
    writeFileSync(f, JSON.stringify(w));
    return f;
  });

  if (has("sweep")) {
    // Budgets take turns request by request (as the cases below do), so drift hits all alike.
    const budgets = (arg("budgets") ?? "256,512,1024,2048,4096").split(",").map(Number);
    const arenaOff = has("arena-off"); // also time the arena switched off (at 4096 tokens), in its own run
    const sweepCases = (arg("sweep-cases") ?? "c,b").split(",");
    for (const [wi, w] of workloads.entries()) {
      if (wi > 0 && !has("all-workloads")) break; // the SciFact mix unless --all-workloads
      console.log(`\nbatchTokens sweep on ${w.name} (budgets interleaved request by request; ratio = median per-request speed vs the first budget):`);
      console.log("case  batchTokens  arena  pairs/s  p50 ms  p95 ms  peak RSS MB  per-request ratio");
      for (const c of sweepCases) {
        const names = budgets.map((bt) => `${c}@${bt}`);
        const results = await runInterleaved(names, files[wi], w, modelDir, ["--threads", String(threads), ...childExtra]);
        const first = results.get(names[0])!;
        for (const [k, name] of names.entries()) {
          const r = results.get(name)!;
          const ratios = r.latenciesMs.map((ms, i) => first.latenciesMs[i] / ms).sort((a, b) => a - b);
          console.log(`${c.padEnd(4)}  ${String(budgets[k]).padStart(11)}  ${"on".padStart(5)}  ${((r.pairs / r.totalMs) * 1000).toFixed(1).padStart(7)}  ${percentile(r.latenciesMs, 50).toFixed(0).padStart(6)}  ${percentile(r.latenciesMs, 95).toFixed(0).padStart(6)}  ${r.maxRssMb.toFixed(0).padStart(11)}  ${ratios[Math.floor(ratios.length / 2)].toFixed(2).padStart(17)}`);
        }
        if (arenaOff) {
          const r = await runCase(c, files[wi], modelDir, ["--batch-tokens", "4096", "--threads", String(threads), "--memory-arena", "off", ...childExtra]);
          console.log(`${c.padEnd(4)}  ${"4096".padStart(11)}  ${"off".padStart(5)}  ${((r.pairs / r.totalMs) * 1000).toFixed(1).padStart(7)}  ${percentile(r.latenciesMs, 50).toFixed(0).padStart(6)}  ${percentile(r.latenciesMs, 95).toFixed(0).padStart(6)}  ${r.maxRssMb.toFixed(0).padStart(11)}`);
        }
      }
    }
    return;
  }

  // Rows print as each case finishes, so a long run shows progress (and partial figures if stopped).
  for (const [wi, w] of workloads.entries()) {
    if (quick && wi > 0 && !has("all-workloads")) break; // --quick: the SciFact mix only
    console.log(`\n${w.name}:`);
    console.log("case                                          pairs/s   ×(a)  p50 ms  p95 ms  peak RSS MB  tok/pair  tokenize %  % of compute ceiling");
    const results = await runInterleaved(["a", "b", "c"], files[wi], w, modelDir, ["--threads", String(threads), ...childExtra]);
    const basePps = (results.get("a")!.pairs / results.get("a")!.totalMs) * 1000;
    const family = int8Family(probe, results.get("c")!.int8, int8Weights === "s8-reduce-range");
    for (const c of ["a", "b", "c"]) {
      const r = results.get(c)!;
      const pps = (r.pairs / r.totalMs) * 1000;
      const peak = r.case === "c" ? peaks[family.weights] : peaks.fp32;
      // The ceiling counts useful work only (unpadded tokens): padding is part of what a case wastes.
      const ceilingPps = peak / flopsPerPair(r.meanTokens);
      console.log(
        `${LABELS[r.case].padEnd(44)}  ${pps.toFixed(1).padStart(7)}  ${(pps / basePps).toFixed(2).padStart(5)}  ${percentile(r.latenciesMs, 50).toFixed(0).padStart(6)}  ${percentile(r.latenciesMs, 95).toFixed(0).padStart(6)}  ${r.maxRssMb.toFixed(0).padStart(11)}  ${r.meanTokens.toFixed(0).padStart(8)}  ${((100 * r.tokenizeMs) / r.totalMs).toFixed(1).padStart(10)}  ${((100 * pps) / ceilingPps).toFixed(1).padStart(5)}% (ceiling ${ceilingPps.toFixed(0)} pairs/s at ${(flopsPerPair(r.meanTokens) / 1e9).toFixed(2)} GFLOP/pair)`,
      );
    }
    const state = results.get("c")!.int8;
    console.log(`  (c) int8 kernel family: ${family.label}; graph ${state ? `${state.file}, ${state.weights} weights, ${state.how}${state.exact ? "" : ", NOT exact"}` : "?"}; ceiling from the ${family.weights === "s8" ? "u8×s8" : "u8×u8"} peak`);
    // Per request, each case's time against the baseline's on the same request (they ran back to back).
    const a = results.get("a")!.latenciesMs;
    for (const c of ["b", "c"]) {
      const ratios = results.get(c)!.latenciesMs.map((ms, i) => a[i] / ms).sort((x, y) => x - y);
      console.log(`  ${c}/a per request (same request, back to back): median ${percentile(ratios, 50).toFixed(2)}, min ${ratios[0].toFixed(2)}, max ${ratios[ratios.length - 1].toFixed(2)}`);
    }
  }
  console.log(`\nCompute ceiling: FLOPs per pair = 6 layers × (2 × ${(4 * HIDDEN * HIDDEN + 2 * HIDDEN * INTERMEDIATE) / 1e6}M params × L + 4·L²·${HIDDEN}) against the peaks measured above (fp32 ${gops(peaks.fp32)} GFLOP/s; int8 ${gops(peaks.s8)} GOPS u8×s8, ${gops(peaks.u8)} GOPS u8×u8; ${threads} threads).`);

  if (!has("no-fidelity")) {
    const { measureFidelity, formatFidelityReport } = await import("../src/onnx/fidelity.js");
    const { defaultModelCacheDir } = await import("../src/onnx/generate.js");
    // The generated model (random weights), then, when scripts/train-cross-encoder.ts has
    // been run, the same architecture with trained weights (a real logit spread).
    const trained = join(defaultModelCacheDir(), `${PRESET}-scifact`);
    const int8Dir = childExtra[1] ?? modelDir;
    const models: Array<[string, string]> = [[`${PRESET}, random weights${int8Weights ? `, ${int8Weights} weights` : ""}`, int8Dir]];
    if (existsSync(join(trained, "onnx", "model_quantized.onnx"))) models.push([`${PRESET}-scifact, trained from scratch on SciFact train (scripts/train-cross-encoder.ts)`, trained]);
    for (const [label, dir] of models) {
      try {
        const report = await measureFidelity({
          modelDir: dir,
          referencePath: join(dir, "onnx/model.onnx"),
          candidatePath: join(dir, "onnx/model_quantized.onnx"),
          datasetDir: scifact,
          split: "test",
          queries: quick ? 2 : 5,
          docsPerQuery: quick ? 20 : 50,
          threads,
        });
        const { inspectInt8Weights } = await import("../src/onnx/int8-weights.js");
        const weights = (await inspectInt8Weights(join(dir, "onnx/model_quantized.onnx"))).weights;
        const exactHere = (weights !== "s8" && weights !== "mixed") || probe.s8.exact;
        console.log(`\nint8 fidelity vs fp32, ${label}, ${weights} weights${exactHere ? "" : " (NOT exact on this CPU: measures the saturated kernel)"} (src/onnx/fidelity.ts):\n${formatFidelityReport(report)}`);
      } catch (err) {
        console.log(`\nint8 fidelity, ${label}: not measured (${(err as Error).message})`);
      }
    }
    if (models.length === 1) console.log(`(trained weights: run \`npx tsx scripts/train-cross-encoder.ts\` once, with Debian's python3-torch, to add that check)`);
  }
  try {
    rmSync(workDir, { recursive: true, force: true });
  } catch {
    // temp folder; the OS cleans it otherwise
  }
}

await main();
