import { stat } from "node:fs/promises";
import { basename, join, resolve, sep } from "node:path";
import type { Command } from "commander";
import { writeFileAtomic } from "../../core/atomic-file.js";
import type { Query } from "../../core/types.js";
import { loadBeirDataset } from "../../eval/readers/beir.js";
import { runSweep, type SweepReport } from "../../eval/sweep/sweep.js";
import { createReranker } from "../../rerankers/registry.js";
import { addRerankerOptions, rerankerSpecFromFlags } from "../reranker-options.js";
import { addRetrieverOption, openRetriever, retrieverSpecFromFlag, terminalProgress } from "../retriever-options.js";
import { UsageError } from "../usage-error.js";

interface SweepFlags {
  dataset: string;
  split: string;
  index?: string;
  retriever: string;
  candidates: string;
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

function formatTable(r: SweepReport): string {
  const head = ["candidates", "nDCG@10", "MRR", "recall@k", "rerank p50 ms", "rerank p95 ms", "e2e p95 ms", ""];
  const rows = r.rows.map((x) => [
    String(x.candidates),
    x.ndcg10.toFixed(4),
    x.mrr.toFixed(4),
    x.recall.toFixed(4),
    x.rerankP50Ms.toFixed(1),
    x.rerankP95Ms.toFixed(1),
    x.endToEndP95Ms.toFixed(1),
    (x.candidates === r.recommendation?.candidates ? "← recommended" : "") + (x.fitsBudget ? "" : "over budget"),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const out = [
    `first stage: nDCG@10 ${r.firstStage.ndcg10.toFixed(4)}, MRR ${r.firstStage.mrr.toFixed(4)} (${r.numQueries} queries)`,
    line(head),
    ...rows.map(line),
    r.recommendation ? `recommendation: ${r.recommendation.candidates} candidates — ${r.recommendation.reason}` : `recommendation: none — no count fits the ${r.budgetMs} ms budget`,
  ];
  return out.join("\n");
}

/** `--out` names a folder when one exists there or the path ends in a separator; anything else is the HTML file. */
async function namesFolder(out: string): Promise<boolean> {
  if (out.endsWith("/") || out.endsWith(sep)) return true;
  try {
    return (await stat(out)).isDirectory();
  } catch {
    return false;
  }
}

/** `winnow sweep`: quality and latency against the number of candidates reranked. */
export function register(program: Command): void {
  const cmd = program
    .command("sweep")
    .description("rerank 10, 20, 50… first-stage candidates per query and report nDCG@10, recall ceiling, MRR and latency for each; recommends a count")
    .requiredOption("--dataset <dir>", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")
    .option("--split <name>", "qrels split (tune on train/dev, report on test)", "test")
    .option("--index <dir>", "load a saved BM25 index (and its `winnow embed` vectors) instead of building one from the corpus")
    .option("--candidates <list>", "candidate counts to try", "10,20,50,100,200")
    .option("--budget-ms <ms>", "end-to-end p95 budget the recommendation must fit")
    .option("--tolerance <x>", "nDCG@10 within this of the best counts as equal", "0.005")
    .option("--queries <n>", "use only the first n judged queries (quick looks)")
    .option("--out <file-or-dir>", "write the self-contained HTML report to this file; a folder (existing, or ending in /) gets sweep.html and sweep.json")
    .option("--format <fmt>", "stdout: table | json", "table");
  addRetrieverOption(cmd);
  addRerankerOptions(cmd, "learned");
  cmd.action(async (flags: SweepFlags & Parameters<typeof rerankerSpecFromFlags>[0]) => {
    const counts = parseCandidateList(flags.candidates);
    if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
    const budgetMs = flags.budgetMs === undefined ? undefined : Number(flags.budgetMs);
    if (budgetMs !== undefined && !(budgetMs > 0)) throw new UsageError(`--budget-ms must be a number > 0, got "${flags.budgetMs}"`);
    const tolerance = Number(flags.tolerance);
    if (!(tolerance >= 0 && tolerance < 1)) throw new UsageError(`--tolerance must be in [0, 1), got "${flags.tolerance}"`);
    const limit = flags.queries === undefined ? undefined : Number(flags.queries);
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw new UsageError(`--queries must be a positive integer, got "${flags.queries}"`);
    const spec = rerankerSpecFromFlags(flags);
    if (!spec) throw new UsageError("sweep needs a reranker (--reranker <type>)");
    const retrieverSpec = retrieverSpecFromFlag(flags.retriever);

    const dataset = await loadBeirDataset(flags.dataset, flags.split);
    const terminal = terminalProgress();
    const retriever = await openRetriever(retrieverSpec, { dataset: flags.dataset, index: flags.index, progress: terminal.progress });
    terminal.done();
    let reranker;
    try {
      // A family that reads corpus statistics (the learned one) takes them from the first stage's index.
      reranker = await createReranker(spec, { index: retriever.corpusIndex, vectors: retriever.vectors });
    } catch (err) {
      await retriever.close?.();
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
        reranker,
        candidates: counts,
        budgetMs,
        tolerance,
        onQuery: progress ? (done, total) => process.stderr.write(`\r${done}/${total} queries${done === total ? "\n" : ""}`) : undefined,
      });
    } finally {
      await reranker.close?.();
      await retriever.close?.();
    }
    const json = JSON.stringify({ dataset: flags.dataset, split: flags.split, ...report, retriever: retriever.describe?.() ?? retrieverSpec, rerankerSpec: spec }, null, 2);
    if (flags.out) {
      const { renderSweepReport } = await import("../../report/sweep-report.js");
      const html = renderSweepReport(report, { dataset: basename(resolve(flags.dataset)), split: flags.split, firstStage: retrieverSpec.type });
      const written = (await namesFolder(flags.out)) ? [join(flags.out, "sweep.html"), join(flags.out, "sweep.json")] : [flags.out];
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
