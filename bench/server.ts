/**
 * Load benchmark of `winnow serve` (a benchmark, not a test).
 *
 *   npm run bench:server                 # 20 s per concurrency level, int8 MiniLM-L6-H384
 *   npm run bench:server -- --quick      # 3 s per level
 *   npm run bench:server -- --dtype fp32 --duration 30 --queue 1600
 *   npm run bench:server -- --docs 20 --peak 16   # small requests: baseline 16, overload 64
 *   npm run bench:server -- --quick --preset tiny-bert   # smoke run: overheads magnified
 *
 * The server runs in a child process (so its RSS is its own) with the generated
 * MiniLM-L6-H384 cross-encoder (random weights: speed does not depend on their
 * values). Requests are real SciFact test queries, each with 100 real SciFact
 * abstracts (its judged documents plus a seeded sample of the corpus). The same
 * requests are scored offline — the reranker called directly, in-process, one request
 * after another, loaded as the server loads it — before and after the served levels,
 * and the served pairs/s is reported as a ratio of the mean of the two.
 * autocannon drives concurrency 1, then the peak (`--peak`, default 8: enough
 * connections to keep the model busy) and 4× the peak, taking turns `--rounds` times
 * in ABBA order (default 2; `--concurrency a,b,c` runs just those levels), over loopback. The queue is kept small, so at 4×
 * the excess is refused with 429 (autocannon re-sends at once, ignoring Retry-After: a
 * flood) instead of waiting into a timeout. The overload target: completed pairs/s
 * (pairs scored less those scored for requests that then failed) at 4× the peak ≥ 90%
 * of those at the peak, measured in the same run; a probe checks that the 429s carry
 * Retry-After.
 * RSS is read after a short warm-up, right after the last level, and 11 s later (the
 * server returns freed C-heap memory every 10 s); the growth target uses the last.
 * `--spin-wait on|off` overrides the served model's spinWait (default: the server's).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureGeneratedModel } from "../src/onnx/generate.js";
import { MODEL_PRESETS, isModelPresetName } from "../src/onnx/presets.js";
import { createReranker, servingSpec, type RerankerSpec } from "../src/rerankers/registry.js";
import { isBatchableReranker } from "../src/core/batch-scorer.js";
import { startServer } from "../src/server/server.js";
import type { ServerConfigInput } from "../src/server/config.js";
import { seededRandom } from "../src/core/seeded-random.js";

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  duration: number;
}
/** autocannon's return value: an event emitter that is also a promise of the result. */
type AutocannonRun = Promise<AutocannonResult> & { on(event: "response", listener: (client: unknown, status: number, bytes: number, ms: number) => void): void };
type Autocannon = (opts: Record<string, unknown>) => AutocannonRun;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const value = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};

// ---- child mode: just the server --------------------------------------------------
if (flag("child")) {
  const config = JSON.parse(process.env.WINNOW_BENCH_SERVER_CONFIG ?? "{}") as ServerConfigInput;
  const running = await startServer(config, { handleSignals: true });
  process.stdout.write(`LISTENING ${running.url}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const quick = flag("quick");
  const duration = Number(value("duration", quick ? "3" : "20"));
  const dtype = value("dtype", "int8");
  const docsPerRequest = Number(value("docs", "100"));
  const queue = Number(value("queue", String(16 * docsPerRequest)));
  const peak = Number(value("peak", "8"));
  // The peak and 4× take turns `--rounds` times (default 2), in ABBA order (peak, 4×, 4×,
  // peak, …), so a steady drift of the shared machine hits both alike.
  const rounds = Number(value("rounds", "2"));
  const levels = flag("concurrency")
    ? value("concurrency", "").split(",").map(Number)
    : [1, ...Array.from({ length: rounds }, (_, r) => (r % 2 === 0 ? [peak, 4 * peak] : [4 * peak, peak])).flat()];
  const seed = 7;

  const preset = value("preset", "minilm-l6");
  if (!isModelPresetName(preset)) throw new Error(`--preset must be one of ${Object.keys(MODEL_PRESETS).join(", ")}`);
  const modelDir = await ensureGeneratedModel(preset);
  const spin = value("spin-wait", "");
  const spec: RerankerSpec = { type: "cross-encoder", model: modelDir, dtype, ...(spin ? { spinWait: spin === "on" } : {}) };
  const requests = scifactRequests(docsPerRequest, quick ? 12 : 40, seed);
  console.log(`winnow serve benchmark: generated ${preset === "minilm-l6" ? "MiniLM-L6-H384" : preset} cross-encoder (${dtype}), ${requests.length} SciFact test queries × ${docsPerRequest} abstracts, ${duration} s per level${quick ? " (quick)" : ""}`);

  // ---- offline baseline: the same requests, in-process, one after another ------------
  // Loaded as the server loads it (servingSpec: ONNX Runtime spinning off), so the ratio
  // measures what serving costs, not a session setting. Measured before and after the
  // served levels; the ratio uses their mean, so drift of the shared machine over the
  // run hits both sides.
  const offlineSpec = servingSpec(spec);
  const offlineRun = async () => {
    const offline = await createReranker(offlineSpec);
    if (!isBatchableReranker(offline)) throw new Error("expected a batchable cross-encoder");
    const unitsPerRequest: number[] = [];
    for (const r of requests) unitsPerRequest.push((await offline.batchScorer.prepare(r.query, r.documents)).units.length);
    await offline.rerank(requests[0].query, requests[0].documents); // warm-up
    let units = 0;
    let docs = 0;
    let done = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < duration * 1000 || done < 2) {
      const i = done % requests.length;
      await offline.rerank(requests[i].query, requests[i].documents, { returnDocuments: false });
      units += unitsPerRequest[i];
      docs += requests[i].documents.length;
      done++;
    }
    const sec = (performance.now() - t0) / 1000;
    await offline.close?.();
    console.log(`offline (in-process, sequential): ${done} requests in ${sec.toFixed(1)} s → ${(units / sec).toFixed(1)} pairs/s (${(docs / sec).toFixed(1)} docs/s; ${(units / docs).toFixed(3)} windows per doc)`);
    return units / sec;
  };
  const offlineBefore = await offlineRun();

  // ---- the server, in a child process -------------------------------------------------
  const serverConfig: ServerConfigInput = {
    host: "127.0.0.1",
    port: 0,
    logLevel: "warn",
    models: [{ id: "minilm", reranker: spec }],
    // Small queue: at high concurrency the excess is refused at once (429), not left to time out.
    limits: { maxQueuedPairs: queue, requestTimeoutMs: 120_000 },
  };
  const server = await startChild(serverConfig);
  try {
    const bodies = requests.map((r) => JSON.stringify({ model: "minilm", query: r.query, documents: r.documents, top_n: 10 }));
    // Warm-up: a few concurrent requests, so ONNX Runtime's arena has seen mixed batch
    // shapes before the starting RSS is taken (growth after that would be a leak).
    await Promise.all(
      bodies.slice(0, 4).map((body) => fetch(`${server.url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body }).then((r) => r.arrayBuffer())),
    );
    const rssStart = (await scrape(server.url)).rss;
    const rows: string[][] = [];
    const served: number[] = [];
    const completed: number[] = [];
    const probes: Array<{ refused: number; withRetryAfter: number }> = [];
    let total5xx = 0;
    for (const c of levels) {
      const probe = probeHealth(server.url);
      const retryProbe = probeRetryAfter(server.url, bodies[0]);
      // Served pairs/s is read from the server's counter between two scrapes taken
      // inside the run — after the pipeline has filled, before autocannon cuts off the
      // requests in flight — so start-up and the abandoned tail do not count against it.
      const settle = Math.min(2, duration * 0.2) * 1000;
      type Reading = { pairs: number; wasted: number; at: number };
      let before: Reading | undefined;
      let after: Reading | undefined;
      const scrapeAt = (ms: number, set: (v: Reading) => void) =>
        setTimeout(() => void scrape(server.url).then((m) => set({ pairs: m.pairs, wasted: m.wasted, at: performance.now() })), ms);
      const timers = [scrapeAt(settle, (v) => (before = v)), scrapeAt(duration * 1000 - 300, (v) => (after = v))];
      let next = 0;
      const okLatencies: number[] = [];
      // 200s answered inside the same window as the server's counter: completed (useful) pairs/s.
      let okInWindow = 0;
      let levelStart = 0;
      const run = autocannon({
        url: server.url,
        connections: c,
        duration,
        timeout: 150,
        requests: [
          {
            method: "POST",
            path: "/v1/rerank",
            headers: { "content-type": "application/json" },
            setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }),
          },
        ],
      });
      // autocannon's own percentiles mix in the instant 429s; these are the 200s only.
      levelStart = performance.now();
      run.on("response", (_client, status, _bytes, ms) => {
        if (status !== 200) return;
        okLatencies.push(ms);
        const at = performance.now() - levelStart;
        if (at >= settle && at <= duration * 1000 - 300) okInWindow++;
      });
      const result = await run;
      probes.push(await retryProbe.stop());
      okLatencies.sort((a, b) => a - b);
      const pct = (p: number) => okLatencies[Math.min(okLatencies.length - 1, Math.floor((p / 100) * okLatencies.length))].toFixed(0);
      const health = await probe.stop();
      timers.forEach(clearTimeout);
      const measured = before && after && after.at > before.at ? { b: before, a: after, sec: (after.at - before.at) / 1000 } : undefined;
      const servedPairs = measured ? (measured.a.pairs - measured.b.pairs) / measured.sec : Number.NaN;
      // Useful work: pairs scored minus those scored for requests that then failed (timed
      // out, abandoned). Counted per forward pass, so steadier than whole 200s over a window.
      const completedPairs = measured ? (measured.a.pairs - measured.b.pairs - (measured.a.wasted - measured.b.wasted)) / measured.sec : Number.NaN;
      completed.push(completedPairs);
      served.push(servedPairs);
      const windowSec = (duration * 1000 - 300 - settle) / 1000;
      const okPairs = (okInWindow * docsPerRequest) / windowSec;
      const ok = result.statusCodeStats["200"]?.count ?? 0;
      const s429 = result.statusCodeStats["429"]?.count ?? 0;
      const s5xx = Object.entries(result.statusCodeStats).filter(([s]) => s.startsWith("5")).reduce((n, [, v]) => n + v.count, 0);
      total5xx += s5xx;
      rows.push([
        String(c),
        (ok / result.duration).toFixed(2),
        completedPairs.toFixed(1),
        okPairs.toFixed(1),
        servedPairs.toFixed(1),
        "", // served/offline: filled in once the second offline run is done
        ok ? pct(50) : "-",
        ok ? pct(99) : "-",
        String(ok),
        String(s429),
        String(s5xx),
        String(result.errors + result.timeouts),
        `${health.p50.toFixed(1)}/${health.max.toFixed(1)}`,
        ((await scrape(server.url)).rss / 2 ** 20).toFixed(0),
      ]);
    }
    const rssEnd = (await scrape(server.url)).rss;
    // The server returns freed C-heap memory every mallocTrimIntervalMs (10 s): RSS once idle past that.
    await new Promise((r) => setTimeout(r, 11_000));
    const rssSettled = (await scrape(server.url)).rss;
    await server.stop();
    const offlineAfter = await offlineRun();
    const offlinePairsPerSec = (offlineBefore + offlineAfter) / 2;
    const meanAt = (c: number, xs: number[]) => {
      const picked = xs.filter((_, i) => levels[i] === c);
      return picked.length ? picked.reduce((a, b) => a + b, 0) / picked.length : undefined;
    };
    levels.forEach((_, i) => {
      rows[i][5] = (served[i] / offlinePairsPerSec).toFixed(2);
    });
    const servedAtPeak = meanAt(peak, served);
    const ratioAtPeak = servedAtPeak === undefined ? undefined : servedAtPeak / offlinePairsPerSec;
    console.log(`offline pairs/s for the ratios: mean of ${offlineBefore.toFixed(1)} (before) and ${offlineAfter.toFixed(1)} (after) = ${offlinePairsPerSec.toFixed(1)}`);
    printTable(["conc", "ok req/s", "completed pairs/s", "docs in 200s/s", "scored pairs/s", "scored/offline", "p50 ms", "p99 ms", "200s", "429s", "5xx", "errors+timeouts", "/health p50/max ms", "RSS MiB"], rows);
    const growth = (rssSettled - rssStart) / rssStart;
    const mib = (b: number) => (b / 2 ** 20).toFixed(0);
    console.log(`server RSS: ${mib(rssStart)} MiB at start (after warm-up), ${mib(rssEnd)} MiB right after the last level (${(((rssEnd - rssStart) / rssStart) * 100).toFixed(1)}%), ${mib(rssSettled)} MiB 11 s later (${(growth * 100).toFixed(1)}% growth)`);
    console.log(
      `queue limit ${queue} pairs; latency columns cover 200 responses only; scored pairs/s = pairs the server scored, completed pairs/s = those less the pairs scored for requests that then failed (its counters winnow_pairs_scored_total and winnow_pairs_wasted_total), docs in 200s/s = the client's view (whole requests, so coarse when few complete); all from 2 s (20% of short runs) into each run to just before its end`,
    );
    const base = meanAt(peak, completed);
    const over = meanAt(4 * peak, completed);
    const overRuns = levels.map((c, i) => (c === 4 * peak ? i : -1)).filter((i) => i >= 0);
    const refused = overRuns.reduce((n, i) => n + Number(rows[i][9]), 0);
    const probe = overRuns.reduce((p, i) => ({ refused: p.refused + probes[i].refused, withRetryAfter: p.withRetryAfter + probes[i].withRetryAfter }), { refused: 0, withRetryAfter: 0 });
    let overloadRatio: number | undefined;
    if (base !== undefined && over !== undefined) {
      overloadRatio = over / base;
      console.log(
        `overload: ${4 * peak} connections (4× the peak ${peak}) completed ${over.toFixed(1)} pairs/s against ${base.toFixed(1)} at the peak (means over ${overRuns.length} turn(s) each): ratio ${overloadRatio.toFixed(2)}; ` +
          `${refused} requests refused with 429 (probe: ${probe.withRetryAfter} of ${probe.refused} 429s carried Retry-After)`,
      );
    }
    console.log("targets:");
    console.log(`  completed pairs/s at 4× the peak >= 0.90 of the peak: ${overloadRatio === undefined ? "not run" : `${overloadRatio.toFixed(2)} ${overloadRatio >= 0.9 ? "MET" : "MISSED"}`}`);
    if (overRuns.length > 0) {
      const p = probe;
      console.log(`  every 429 carries Retry-After: ${p.refused === 0 ? "no 429 seen by the probe" : p.withRetryAfter === p.refused ? "MET" : `MISSED (${p.refused - p.withRetryAfter} without)`}`);
    }
    console.log(`  scored/offline at the peak (${peak}) >= 0.85: ${ratioAtPeak === undefined ? "not run" : `${ratioAtPeak.toFixed(2)} ${ratioAtPeak >= 0.85 ? "MET" : "MISSED"}`}`);
    console.log(`  zero 5xx: ${total5xx === 0 ? "MET" : `MISSED (${total5xx})`}`);
    console.log(`  RSS growth < 10% (start → settled end): ${growth < 0.1 ? "MET" : "MISSED"} (${(growth * 100).toFixed(1)}%)`);
  } finally {
    await server.stop().catch(() => undefined);
  }
}

interface Request {
  query: string;
  documents: string[];
}

/** SciFact test queries, each with its judged abstracts plus a seeded sample of others, `n` in all. */
function scifactRequests(n: number, count: number, seed: number): Request[] {
  const dir = join(repoRoot, "..", "shared", "datasets", "scifact");
  const corpus = readFileSync(join(dir, "corpus.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
  const byId = new Map(corpus.map((d) => [d._id, d]));
  const queries = new Map(
    readFileSync(join(dir, "queries.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { _id: string; text: string })
      .map((q) => [q._id, q.text]),
  );
  const judged = new Map<string, string[]>();
  for (const line of readFileSync(join(dir, "qrels", "test.tsv"), "utf8").split("\n").slice(1)) {
    const [q, d] = line.split("\t");
    if (q && d) judged.set(q, [...(judged.get(q) ?? []), d]);
  }
  const random = seededRandom(seed);
  const out: Request[] = [];
  for (const [qid, docIds] of judged) {
    if (out.length >= count) break;
    const chosen = new Set(docIds.filter((d) => byId.has(d)));
    while (chosen.size < n) chosen.add(corpus[Math.floor(random() * corpus.length)]._id);
    const docs = [...chosen].map((id) => byId.get(id)!);
    // Shuffle so judged documents are not always first.
    for (let i = docs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [docs[i], docs[j]] = [docs[j], docs[i]];
    }
    out.push({ query: queries.get(qid)!, documents: docs.map((d) => (d.title ? `${d.title} ${d.text}` : d.text)) });
  }
  return out;
}


async function startChild(config: ServerConfigInput): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child"], {
    cwd: repoRoot,
    env: { ...process.env, WINNOW_BENCH_SERVER_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill("SIGTERM");
      const code = await exited;
      if (code !== 0) console.log(`server exited with code ${code}`);
    },
  };
}

async function scrape(url: string): Promise<{ pairs: number; wasted: number; rss: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  return {
    pairs: num(/^winnow_pairs_scored_total\{model="minilm"\} (\S+)$/m) || 0,
    wasted: num(/^winnow_pairs_wasted_total\{model="minilm"\} (\S+)$/m) || 0,
    rss: num(/^winnow_process_resident_memory_bytes (\S+)$/m),
  };
}

/** Sends one rerank every 200 ms while the load runs and counts the 429s with and without Retry-After. */
function probeRetryAfter(url: string, body: string): { stop(): Promise<{ refused: number; withRetryAfter: number }> } {
  let refused = 0;
  let withRetryAfter = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      // Bounded: an admitted probe would otherwise wait its turn in the queue.
      const res = await fetch(`${url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(1_500) }).catch(() => undefined);
      if (res?.status === 429) {
        refused++;
        if (res.headers.get("retry-after")) withRetryAfter++;
      }
      await res?.arrayBuffer().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { refused, withRetryAfter };
    },
  };
}

/** Probes /health every 250 ms while the load runs. */
function probeHealth(url: string): { stop(): Promise<{ p50: number; max: number }> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await fetch(`${url}/health`).then((r) => r.arrayBuffer());
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      samples.sort((a, b) => a - b);
      return { p50: samples[Math.floor(samples.length / 2)] ?? Number.NaN, max: samples[samples.length - 1] ?? Number.NaN };
    },
  };
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i])).join("  ");
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
