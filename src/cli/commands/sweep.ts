import { stat } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { Command } from "commander";
import { writeFileAtomic } from "../../core/atomic-file.js";
import type { Query } from "../../core/types.js";
import { loadBeirDataset } from "../../eval/readers/beir.js";
import { runSweep, type SweepReport } from "../../eval/sweep/sweep.js";
import type { Reranker } from "../../core/types.js";
import { parseMetric } from "../../eval/metrics.js";
import { createReranker } from "../../rerankers/registry.js";
import { addRerankerOptions, rerankerSpecsFromFlags, type RerankerFlags } from "../reranker-options.js";
import { redactedSpec } from "./eval.js";
import { addRetrieverOption, openRetriever, retrieverSpecFromFlag, terminalProgress } from "../retriever-options.js";
import { UsageError } from "../usage-error.js";

interface SweepFlags {
  dataset: string;
  split: string;
  index?: string;
  retriever: string;
  candidates: string;
  metric: string;
  alpha: string;
  budgetMs?: string;
  tolerance: string;
  queries?: string;
  out?: string;
  format: string;
}

export function parseCandidateList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  const counts = parts.map(Number);
  if (parts.length === 0 || counts.some((c) => !Number.isInteger(c) || c < 1 || c > 10_000)) {
    throw new UsageError(`--candidates must be a comma-separated list of integers in 1..10000, got "${value}"`);
  }
  return counts;
}

const p4 = (x: number) => (x < 0.0001 ? x.toExponential(1) : x.toFixed(4));

function formatTable(r: SweepReport): string {
  const m = r.metric;
  const metricCols = m === "ndcg_cut_10" ? ["ndcg_cut_10"] : [m, "ndcg_cut_10"];
  const head = ["reranker", "candidates", ...metricCols, "Δ", "p", "recall_10", "ceiling", "p50 ms", "p95 ms", ""];
  const f = r.firstStage;
  const first = ["first stage", "0", ...metricCols.map((c) => f.metrics[c].toFixed(4)), "", "", f.metrics.recall_10.toFixed(4), "", f.p50Ms.toFixed(1), f.p95Ms.toFixed(1), r.recommendation.reranker === null ? "← recommended" : ""];
  const rows = r.rows.map((x) => [
    x.reranker,
    String(x.candidates),
    ...metricCols.map((c) => x.metrics[c].toFixed(4)),
    `${x.delta >= 0 ? "+" : "-"}${Math.abs(x.delta).toFixed(4)}`,
    p4(x.pValue),
    x.metrics.recall_10.toFixed(4),
    x.metrics[`recall_${x.candidates}`].toFixed(4),
    x.p50Ms.toFixed(1),
    x.p95Ms.toFixed(1),
    (x.reranker === r.recommendation.reranker && x.candidates === r.recommendation.candidates ? "← recommended" : "") + (x.fitsBudget ? "" : "over budget"),
  ]);
  const all = [first, ...rows];
  const widths = head.map((h, i) => Math.max(h.length, ...all.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const rec = r.recommendation;
  return [
    `${r.numQueries} queries; ${m}; α=${r.alpha}; latencies end-to-end (first stage + rerank); ceiling = first-stage recall at the candidate count`,
    line(head),
    ...all.map(line),
    `recommendation: ${rec.reason}`,
  ].join("\n");
}

/** What sweep.json and `--format json` hold: the report without the per-query lists (those are in the HTML). */
export function sweepJson(report: SweepReport, extra: Record<string, unknown>): Record<string, unknown> {
  const { perQuery: _perQuery, ...rest } = report;
  return { ...extra, ...rest };
}

/**
 * `--out` names the HTML file when it ends in .html or .htm (and is not an existing
 * folder); anything else is a folder (created if need be) that gets sweep.html and sweep.json.
 */
async function namesFolder(out: string): Promise<boolean> {
  try {
    if ((await stat(out)).isDirectory()) return true;
  } catch {
    // not there yet
  }
  return !/\.html?$/i.test(out);
}

/** `winnow sweep`: quality and latency against the number of candidates reranked. */
export function register(program: Command): void {
  const cmd = program
    .command("sweep")
    .description(
      "rerank 10, 20, 50… first-stage candidates per query with one or more rerankers and report nDCG@10, the recall ceiling, latency and the p-value against the first stage alone; recommends a reranker and count, or not to rerank",
    )
    .requiredOption("--dataset <dir>", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
    .option("--split <name>", "qrels split (tune on train/dev, report on test)", "test")
    .option("--index <dir>", "load a saved BM25 index (and its `winnow embed` vectors) instead of building one from the corpus")
    .option("--candidates <list>", "candidate counts to try", "10,20,50,100,200")
    .option("--budget-ms <ms>", "end-to-end p95 budget the recommendation must fit")
    .option("--metric <name>", "trec_eval measure the recommendation maximizes", "ndcg_cut_10")
    .option("--alpha <p>", "significance level a setting must reach against the first stage to be recommended", "0.05")
    .option("--tolerance <x>", "values of the metric within this of the best count as equal", "0.005")
    .option("--queries <n>", "use only the first n judged queries (quick looks)")
    .option("--out <dir-or-file>", "write sweep.json and the self-contained sweep.html into this folder; a path ending in .html is the HTML report alone")
    .option("--format <fmt>", "stdout: table | json", "table");
  addRetrieverOption(cmd);
  addRerankerOptions(cmd, "learned", { repeatable: true });
  cmd.action(async (flags: SweepFlags & Omit<RerankerFlags, "reranker"> & { reranker?: string[] }) => {
    const counts = parseCandidateList(flags.candidates);
    if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
    const budgetMs = flags.budgetMs === undefined ? undefined : Number(flags.budgetMs);
    if (budgetMs !== undefined && !(budgetMs > 0)) throw new UsageError(`--budget-ms must be a number > 0, got "${flags.budgetMs}"`);
    const tolerance = Number(flags.tolerance);
    if (!(tolerance >= 0 && tolerance < 1)) throw new UsageError(`--tolerance must be in [0, 1), got "${flags.tolerance}"`);
    const limit = flags.queries === undefined ? undefined : Number(flags.queries);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new UsageError(`--queries must be a positive integer, got "${flags.queries}"`);
    const alpha = Number(flags.alpha);
    if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha must be in (0, 1), got "${flags.alpha}"`);
    let metric: string;
    try {
      metric = parseMetric(flags.metric).name;
    } catch (err) {
      throw new UsageError(`--metric: ${(err as Error).message}`);
    }
    const specs = rerankerSpecsFromFlags(flags.reranker ?? ["learned"], { ...flags, reranker: undefined });
    const retrieverSpec = retrieverSpecFromFlag(flags.retriever);

    const dataset = await loadBeirDataset(flags.dataset, flags.split);
    const terminal = terminalProgress();
    const retriever = await openRetriever(retrieverSpec, { dataset: flags.dataset, index: flags.index, progress: terminal.progress });
    terminal.done();
    const rerankers: Reranker[] = [];
    const closeAll = async () => {
      for (const r of rerankers) await r.close?.();
      await retriever.close?.();
    };
    try {
      // A family that reads corpus statistics (the learned one) takes them from the first stage's index.
      // indexDir: stores saved beside the index (ColBERT token vectors) are read from it.
      for (const spec of specs) rerankers.push(await createReranker(spec, { index: retriever.corpusIndex, vectors: retriever.vectors, indexDir: flags.index, logger: { warn: (m) => console.error(`warning: ${m}`), info: (m) => console.error(m) } }));
    } catch (err) {
      await closeAll();
      throw err;
    }
    const queries: Query[] = limit === undefined ? dataset.queries : dataset.queries.slice(0, limit);
    const qrels = limit === undefined ? dataset.qrels : new Map(queries.map((q) => [q.id!, dataset.qrels.get(q.id!)!]));
    const progress = process.stderr.isTTY;
    let report: SweepReport;
    try {
      report = await runSweep({
        queries,
        qrels,
        firstStage: retriever,
        rerankers,
        candidates: counts,
        metric,
        alpha,
        budgetMs,
        tolerance,
        onQuery: progress ? (done, total) => process.stderr.write(`\r${done}/${total} queries${done === total ? "\n" : ""}`) : undefined,
      });
    } finally {
      await closeAll();
    }
    const json = JSON.stringify(
      sweepJson(report, { dataset: flags.dataset, split: flags.split, retriever: retriever.describe?.() ?? retrieverSpec, rerankerSpecs: specs.map(redactedSpec) }),
      null,
      2,
    );
    if (flags.out) {
      const { renderSweepReport } = await import("../../report/sweep-report.js");
      const html = renderSweepReport(report, { dataset: basename(resolve(flags.dataset)), split: flags.split, firstStage: retrieverSpec.type });
      const folder = await namesFolder(flags.out);
      const written = folder ? [join(flags.out, "sweep.html"), join(flags.out, "sweep.json")] : [flags.out];
      if (folder) await mkdir(flags.out, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`--out ${flags.out}: cannot create the folder (${err.code ?? err.message})`);
      });
      const contents = [html, json + "\n"];
      for (const [i, path] of written.entries()) {
        try {
          await writeFileAtomic(path, contents[i]);
        } catch (err) {
          throw new UsageError(`--out ${flags.out}: cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      }
      if (flags.format === "table") console.error(`report written to ${written.join(" and ")}`);
    }
    if (flags.format === "json") console.log(json);
    else console.log(formatTable(report));
  });
}
