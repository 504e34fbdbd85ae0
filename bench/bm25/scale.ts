/**
 * `npm run bench:bm25 -- --docs N`: BM25 at scale, Winnow and Lucene 8 measured in the
 * same run on the same generated corpus.
 *
 *   npm run bench:bm25 -- --docs 100000 [--generator sentences|zipf] [--queries 500]
 *       [--passes 2] [--seed 1] [--work DIR] [--keep] [--no-lucene] [--format json]
 *
 * 1. Generates the corpus, streaming it to WORK/corpus.jsonl (sentences: sampled from
 *    the shared collections; zipf: a Zipfian vocabulary; see sentence-corpus.ts and
 *    zipf-corpus.ts), and the queries to WORK/queries.tsv (sentences: the shared
 *    collections' queries, round-robin; zipf: drawn from the vocabulary).
 * 2. Winnow: `winnow index` as a child process (index s, peak RSS, disk), then
 *    winnow-search.ts in its own process (open s, queries/s at top-100 and top-1000,
 *    one thread, warm cache, search RSS; pruned results checked identical to exhaustive).
 * 3. Lucene 8 (scripts/bm25/install-lucene.sh, scripts/bm25/LuceneBench.java): the same
 *    figures; where it cannot be installed the bench says so and prints Winnow's alone.
 * Ratios are Winnow's figure over Lucene's from this run, beside the issue's targets.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeCorpusFile, type CorpusGenerator } from "./corpus-file.js";
import { diskMb, runMeasured } from "./measured-process.js";
import { SentenceCorpus } from "./sentence-corpus.js";
import { ZipfCorpus } from "./zipf-corpus.js";

export interface EngineFigures {
  indexSeconds: number;
  peakRssMb: number;
  diskMb: number;
  openSeconds: number;
  qps100: number;
  qps1000: number;
  searchRssMb: number;
  [extra: string]: number | boolean | string;
}

interface ScaleOptions {
  docs: number;
  generator: "sentences" | "zipf";
  queries: number;
  passes: number;
  seed: number;
  work?: string;
  keep: boolean;
  json: boolean;
  lucene: boolean;
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function positiveInt(args: string[], name: string, fallback: number): number {
  const v = flag(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`${name} must be a positive integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

export function parseScaleOptions(args: string[]): ScaleOptions {
  const generator = flag(args, "--generator") ?? "sentences";
  if (generator !== "sentences" && generator !== "zipf") {
    console.error(`--generator must be sentences or zipf, got ${generator}`);
    process.exit(2);
  }
  const format = flag(args, "--format") ?? "text";
  if (format !== "text" && format !== "json") {
    console.error(`--format must be text or json, got ${format}`);
    process.exit(2);
  }
  return {
    docs: positiveInt(args, "--docs", 100_000),
    generator,
    queries: positiveInt(args, "--queries", 500),
    passes: positiveInt(args, "--passes", 2),
    seed: positiveInt(args, "--seed", 1),
    work: flag(args, "--work"),
    keep: args.includes("--keep"),
    json: format === "json",
    lucene: !args.includes("--no-lucene"),
  };
}

function luceneClasspath(root: string, work: string, log: (s: string) => void): string | undefined {
  let jars: string;
  try {
    jars = execFileSync("bash", [join(root, "scripts", "bm25", "install-lucene.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (err) {
    const reason = ((err as { stderr?: string }).stderr ?? String(err)).trim().split("\n").pop();
    log(`Lucene: not measured (${reason}); Winnow's figures alone`);
    return undefined;
  }
  const classes = join(work, "lucene-classes");
  mkdirSync(classes, { recursive: true });
  execFileSync("javac", ["-cp", jars, "-d", classes, join(root, "scripts", "bm25", "LuceneBench.java")], { stdio: ["ignore", "ignore", "inherit"] });
  return `${jars}:${classes}`;
}

function readRun(path: string): Map<string, Array<[string, number]>> {
  const run = new Map<string, Array<[string, number]>>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.length === 0) continue;
    const [q, d, s] = line.split("\t");
    let hits = run.get(q);
    if (hits === undefined) run.set(q, (hits = []));
    hits.push([d, Math.fround(Number(s))]);
  }
  return run;
}

/** How many queries' top-100 lists agree between the engines: ids in order, and float scores. */
function agreement(a: Map<string, Array<[string, number]>>, b: Map<string, Array<[string, number]>>): { sameIds: number; sameScores: number; queries: number } {
  let sameIds = 0;
  let sameScores = 0;
  const qs = new Set([...a.keys(), ...b.keys()]);
  for (const q of qs) {
    const x = a.get(q) ?? [];
    const y = b.get(q) ?? [];
    if (x.length === y.length && x.every(([id], i) => id === y[i][0])) sameIds++;
    if (x.length === y.length && x.every(([, s], i) => s === y[i][1])) sameScores++;
  }
  return { sameIds, sameScores, queries: qs.size };
}

export async function runScaleBench(root: string, args: string[]): Promise<void> {
  const o = parseScaleOptions(args);
  const log = o.json ? (s: string) => console.error(s) : (s: string) => console.log(s);
  const work = o.work ? resolve(o.work) : mkdtempSync(join(tmpdir(), "winnow-bm25-scale-"));
  mkdirSync(work, { recursive: true });
  try {
    const generator: CorpusGenerator = o.generator === "zipf" ? new ZipfCorpus() : new SentenceCorpus(join(root, "..", "shared", "datasets"));
    const corpus = join(work, "corpus.jsonl");
    const t0 = performance.now();
    const written = writeCorpusFile(corpus, o.docs, generator, o.seed);
    const queries = generator.queries(o.queries);
    writeFileSync(join(work, "queries.tsv"), queries.map((q, i) => `q${i + 1}\t${q.replace(/[\t\n]/g, " ")}`).join("\n") + "\n");
    log(
      `BM25 scale bench: ${o.docs.toLocaleString("en-US")} ${o.generator} documents (${(written.words / o.docs).toFixed(0)} words each on average, ` +
        `${(written.bytes / 1e6).toFixed(0)} MB of JSONL, generated in ${((performance.now() - t0) / 1000).toFixed(1)} s), ${queries.length} queries, ` +
        `best of ${o.passes} passes after a warm-up; work folder ${work}`,
    );

    // Winnow
    const tsx = ["--import", "tsx"];
    const winnowIndex = join(work, "winnow-index");
    const built = await runMeasured(process.execPath, [...tsx, join(root, "src", "cli", "run.ts"), "index", "--dataset", work, "--out", winnowIndex, "-q"], { cwd: root });
    const searched = await runMeasured(process.execPath, [...tsx, join(root, "bench", "bm25", "winnow-search.ts"), winnowIndex, join(work, "queries.tsv"), String(o.passes), join(work, "winnow-run100.tsv")], { cwd: root });
    const ws = JSON.parse(searched.stdout.trim().split("\n").pop()!) as Record<string, number | boolean>;
    const winnow: EngineFigures = {
      indexSeconds: built.seconds,
      peakRssMb: built.peakRssMb,
      diskMb: diskMb(winnowIndex),
      openSeconds: ws.openSeconds as number,
      qps100: ws.qps100 as number,
      qps1000: ws.qps1000 as number,
      searchRssMb: ws.rssMb as number,
      cpuQps100: ws.cpuQps100 as number,
      cpuQps1000: ws.cpuQps1000 as number,
      exhaustiveQps100: ws.exhaustiveQps100 as number,
      exhaustiveQps1000: ws.exhaustiveQps1000 as number,
      identicalToExhaustive: ws.identicalToExhaustive as boolean,
    };

    // Lucene
    let lucene: EngineFigures | undefined;
    let agree: ReturnType<typeof agreement> | undefined;
    const cp = o.lucene ? luceneClasspath(root, work, log) : undefined;
    if (!o.lucene) log("Lucene: not measured (--no-lucene)");
    if (cp !== undefined) {
      const luceneIndex = join(work, "lucene-index");
      const java = ["-cp", cp, "-Xmx4g"];
      const li = await runMeasured("java", [...java, "LuceneBench", "index", corpus, luceneIndex]);
      const ls = await runMeasured("java", [...java, "LuceneBench", "search", luceneIndex, join(work, "queries.tsv"), String(o.passes), join(work, "lucene-run100.tsv")]);
      const l = JSON.parse(ls.stdout.trim().split("\n").pop()!) as Record<string, number>;
      lucene = {
        indexSeconds: li.seconds,
        peakRssMb: li.peakRssMb,
        diskMb: diskMb(luceneIndex),
        openSeconds: l.openSeconds,
        qps100: l.qps100,
        qps1000: l.qps1000,
        searchRssMb: l.rssMb,
        cpuQps100: l.cpuQps100,
        cpuQps1000: l.cpuQps1000,
        segments: l.segments,
      };
      agree = agreement(readRun(join(work, "winnow-run100.tsv")), readRun(join(work, "lucene-run100.tsv")));
    }

    if (o.json) {
      console.log(JSON.stringify({ docs: o.docs, generator: o.generator, queries: queries.length, winnow, lucene: lucene ?? null, top100AgreementWithLucene: agree ?? null }, null, 2));
      return;
    }
    const row = (label: string, w: string, l: string, ratio: string, target: string) =>
      console.log(`  ${label.padEnd(20)} ${w.padStart(12)} ${l.padStart(12)} ${ratio.padStart(9)}   ${target}`);
    console.log("");
    row("", "Winnow", lucene ? "Lucene 8" : "Lucene 8: -", "W/L", "target (issue #17)");
    const fig = (label: string, key: keyof EngineFigures, digits: number, unit: string, target: string) => {
      const w = winnow[key] as number;
      const l = lucene?.[key] as number | undefined;
      row(label, `${w.toFixed(digits)}${unit}`, l === undefined ? "-" : `${l.toFixed(digits)}${unit}`, l === undefined ? "" : `${(w / l).toFixed(2)}x`, target);
    };
    fig("index", "indexSeconds", 1, " s", "W/L <= 1");
    fig("index peak RSS", "peakRssMb", 0, " MB", "<= 1,536 MB");
    fig("disk", "diskMb", 0, " MB", "W/L <= 1.2");
    fig("open", "openSeconds", 3, " s", "<= 0.5 s");
    fig("queries/s top-100", "qps100", 0, "", "W/L >= 2");
    fig("queries/s top-1000", "qps1000", 0, "", "W/L >= 2");
    fig("  by CPU time top-100", "cpuQps100", 0, "", "(queries per CPU second: steadier on a shared machine)");
    fig("  by CPU time top-1000", "cpuQps1000", 0, "", "");
    fig("search RSS", "searchRssMb", 0, " MB", "<= 1,024 MB");
    console.log(
      `\n  Winnow exhaustive (every posting scored): ${(winnow.exhaustiveQps100 as number).toFixed(0)} q/s top-100, ${(winnow.exhaustiveQps1000 as number).toFixed(0)} q/s top-1000; ` +
        `pruned results identical to exhaustive: ${winnow.identicalToExhaustive ? "yes" : "NO"}`,
    );
    if (agree) console.log(`  top-100 vs Lucene: ids identical on ${agree.sameIds}/${agree.queries} queries, float scores on ${agree.sameScores}/${agree.queries}`);
  } finally {
    if (!o.keep && !o.work) rmSync(work, { recursive: true, force: true });
    else if (!o.keep) for (const f of ["corpus.jsonl", "winnow-index", "lucene-index"]) if (existsSync(join(work, f))) rmSync(join(work, f), { recursive: true, force: true });
  }
}
