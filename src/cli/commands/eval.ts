import type { Command } from "commander";
import { runExperiment, type ExperimentReport } from "../../eval/experiment.js";
import type { LiftReport } from "../../eval/lift.js";
import { loadBeirDataset } from "../../eval/readers/beir.js";
import { readQrels, writeRun } from "../../eval/readers/trec.js";
import { readRequestLog, requestLogRuns } from "../../eval/readers/request-log.js";
import { computeLift } from "../../eval/lift.js";
import { formatLiftTable, formatMetricsTable } from "../../eval/table.js";
import { createReranker, type RerankerSpec } from "../../rerankers/registry.js";
import { addRerankerOptions, rerankerSpecFromFlags } from "../reranker-options.js";
import { addRetrieverOption, openRetriever, retrieverSpecFromFlag, terminalProgress } from "../retriever-options.js";
import { UsageError } from "../usage-error.js";
import { addEvaluationOptions, describeCoverage, evaluationOptionsFromFlags, parsePositiveInt, perQueryJson, type EvaluationFlags } from "./metrics.js";
import { numberFlag, requiredNumberFlag } from "../number-flag.js";
import { DEFAULT_RANDOMIZATION_SEED, DEFAULT_RANDOMIZATION_TRIALS } from "../../eval/significance.js";

interface EvalFlags extends EvaluationFlags {
  dataset?: string;
  requestLog?: string;
  qrels?: string;
  split: string;
  retriever: string;
  index?: string;
  k1?: string;
  b?: string;
  depth: string;
  candidates: string;
  runOut?: string;
  firstStageRunOut?: string;
  perQuery?: boolean;
  reranker?: string;
  seed: string;
  permutations: string;
}

const SECRET_OPTION = /key|token|secret|password|auth/i;

/** The spec as reported in output: credentials passed with -O never reach a log or a results file. */
export function redactedSpec(spec: RerankerSpec): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, SECRET_OPTION.test(k) ? "[redacted]" : v]));
}

/**
 * One line when reranking lowered the headline measure (nDCG@10 when measured, else the
 * first one): a user who trusts a default reranker must be told it lost quality here.
 */
export function worseThanFirstStage(lift: LiftReport, metrics: readonly string[], label: string): string | undefined {
  const name = lift.metrics.ndcg_cut_10 ? "ndcg_cut_10" : Object.keys(lift.metrics).find((m) => metrics.includes(m)) ?? Object.keys(lift.metrics)[0];
  const m = name === undefined ? undefined : lift.metrics[name];
  if (!m || !(m.delta < 0)) return undefined;
  return `warning: ${label} is worse than the first stage alone on ${name}: ${m.before.toFixed(4)} → ${m.after.toFixed(4)} (−${Math.abs(m.delta).toFixed(4)}, ${m.losses} queries lost, ${m.wins} won; paired randomization p=${m.pValue.toFixed(4)}); consider not reranking (winnow sweep says when it pays)`;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function timingJson(report: ExperimentReport, indexMs: number): Record<string, unknown> {
  const s = report.timings.search;
  const out: Record<string, unknown> = {
    indexMs: round(indexMs),
    search: { totalMs: round(s.totalMs), queries: s.queries, queriesPerSecond: round(s.queriesPerSecond, 1), msPerQuery: round(s.meanMs, 3), p50Ms: round(s.p50Ms, 3), p95Ms: round(s.p95Ms, 3) },
  };
  const r = report.timings.rerank;
  if (r) out.rerank = { totalMs: round(r.totalMs), meanMs: round(r.meanMs), p50Ms: round(r.p50Ms), p95Ms: round(r.p95Ms), candidatesPerSecond: round(r.candidatesPerSecond, 1) };
  return out;
}

/**
 * `winnow eval --request-log FILE --qrels FILE`: on served traffic, the lift of the order
 * the server answered over the order the caller sent (its first stage), judged by labels
 * of those requests (`winnow label --request-log`), with the same table and tests as a dataset.
 */
async function evalRequestLog(flags: EvalFlags, metrics: readonly string[], options: ReturnType<typeof evaluationOptionsFromFlags>["options"], format: string): Promise<void> {
  if (flags.requestLog === undefined || flags.qrels === undefined) throw new UsageError("--request-log and --qrels go together (the log's requests, and labels for them)");
  if (flags.dataset !== undefined || flags.reranker !== undefined) throw new UsageError("--request-log evaluates what the server answered: no --dataset or --reranker with it");
  const seed = requiredNumberFlag("--seed", flags.seed, { min: 0, max: 2 ** 32 - 1 });
  const trials = requiredNumberFlag("--permutations", flags.permutations, { min: 1, max: 10_000_000 });
  const records = await readRequestLog(flags.requestLog);
  const allQrels = await readQrels(flags.qrels);
  // Judged requests only: an unlabelled request would count as a zero for both orders.
  const qrels = new Map([...allQrels].filter(([q]) => records.some((r) => r.id === q)));
  if (qrels.size === 0) throw new UsageError(`--qrels ${flags.qrels}: judges none of the ${records.length} requests in ${flags.requestLog} (query ids are the log's record ids)`);
  const { firstStage, served } = requestLogRuns(records);
  const lift = computeLift(qrels, firstStage, served, { ...options, metrics, seed, trials });
  const warning = worseThanFirstStage(lift, metrics, "the served order");
  if (warning) console.error(warning);
  if (format === "json") {
    const out: Record<string, unknown> = { requestLog: flags.requestLog, qrels: flags.qrels, requests: records.length, numQueries: lift.numQueries, firstStage: Object.fromEntries(Object.entries(lift.metrics).map(([k, v]) => [k, v.before])), metrics: Object.fromEntries(Object.entries(lift.metrics).map(([k, v]) => [k, v.after])), lift };
    if (warning) out.warning = warning;
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(formatLiftTable(lift, { before: "sent order", after: "served order" }));
  console.log(`${lift.numQueries} judged requests of ${records.length} logged`);
}

/** `winnow eval`: first stage (and optional reranker) over a BEIR collection, scored like trec_eval. */
export function register(program: Command): void {
  const cmd = program
    .command("eval")
    .description("retrieve (and optionally rerank) every judged query of a BEIR dataset and report trec_eval measures, lift and timings")
    .option("--dataset <dir>", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (or --request-log)")
    .option("--request-log <file>", "instead of a dataset: the lift of the served order over the order sent, on logged traffic (`winnow serve --request-log`), judged by --qrels")
    .option("--qrels <file>", "labels for --request-log (e.g. from `winnow label --request-log`)")
    .option("--split <name>", "qrels split to evaluate", "test")
    .option("--index <dir>", "load a saved BM25 index (and its `winnow embed` vectors) instead of building one from the corpus")
    .option("--k1 <x>", "BM25 k1 (default 0.9); the same as the bm25 spec's k1")
    .option("--b <x>", "BM25 b (default 0.4); the same as the bm25 spec's b")
    .option("--depth <n>", "documents retrieved per query", "1000")
    .option("--candidates <n>", "first-stage candidates handed to the reranker (with --reranker)", "100")
    .option("--run-out <file>", "write the final run (TREC format)")
    .option("--first-stage-run-out <file>", "also write the first-stage run when reranking")
    .option("--per-query", "include every query's measures")
    .option("--seed <n>", "seed of the lift's randomization test (the same default as `winnow compare`)", String(DEFAULT_RANDOMIZATION_SEED))
    .option("--permutations <n>", "sign flips of the lift's randomization test", String(DEFAULT_RANDOMIZATION_TRIALS));
  addRetrieverOption(cmd);
  addRerankerOptions(cmd);
  addEvaluationOptions(cmd).action(async (flags: EvalFlags) => {
    const { metrics, options, format } = evaluationOptionsFromFlags(flags);
    if (flags.requestLog !== undefined || flags.qrels !== undefined) {
      await evalRequestLog(flags, metrics, options, format);
      return;
    }
    if (flags.dataset === undefined) throw new UsageError("eval needs --dataset DIR (or --request-log FILE --qrels FILE)");
    const depth = parsePositiveInt("--depth", flags.depth, 100_000);
    const candidates = parsePositiveInt("--candidates", flags.candidates, 100_000);
    const k1 = numberFlag("--k1", flags.k1, { min: 0, max: 100, integer: false });
    const b = numberFlag("--b", flags.b, { min: 0, max: 1, integer: false });
    const seed = requiredNumberFlag("--seed", flags.seed, { min: 0, max: 2 ** 32 - 1 });
    const trials = requiredNumberFlag("--permutations", flags.permutations, { min: 1, max: 10_000_000 });
    const spec: RerankerSpec | undefined = rerankerSpecFromFlags(flags);
    if (spec && candidates > depth) throw new UsageError(`--candidates (${candidates}) must not exceed --depth (${depth})`);
    const retrieverSpec = retrieverSpecFromFlag(flags.retriever, { k1, b });

    const dataset = await loadBeirDataset(flags.dataset, flags.split);
    const datasetDir = flags.dataset;
    const started = performance.now();
    const terminal = terminalProgress();
    const retriever = await openRetriever(retrieverSpec, { dataset: datasetDir, index: flags.index, progress: terminal.progress });
    terminal.done();
    const indexMs = performance.now() - started;
    const described = retriever.describe?.() ?? { ...retrieverSpec };
    const documents = typeof described.documents === "number" ? described.documents : undefined;
    const first = retrieverSpec.type;
    let reranker;
    try {
      // A family that reads corpus statistics and stored terms (the learned one) takes them from the first stage's index.
      // indexDir: stores saved beside the index (ColBERT token vectors) are read from it; families say on stderr what they use.
      const logger = { warn: (m: string) => console.error(`warning: ${m}`), info: (m: string) => console.error(m) };
      reranker = spec ? await createReranker(spec, { index: retriever.corpusIndex, vectors: retriever.vectors, indexDir: flags.index, logger }) : undefined;
    } catch (err) {
      await retriever.close?.();
      throw err;
    }
    const progress = process.stderr.isTTY && format === "table";
    let report: ExperimentReport;
    try {
      report = await runExperiment({
        queries: dataset.queries,
        qrels: dataset.qrels,
        firstStage: retriever,
        depth,
        reranker,
        candidates,
        metrics,
        ...options,
        seed,
        trials,
        onQuery: progress ? (done, total) => process.stderr.write(`\r${done}/${total} queries${done === total ? "\n" : ""}`) : undefined,
      });
    } finally {
      await reranker?.close?.();
      await retriever.close?.();
    }
    if (flags.runOut) await writeRun(flags.runOut, report.runs.final, { tag: spec ? `${first}+${spec.type}` : first });
    if (flags.firstStageRunOut) await writeRun(flags.firstStageRunOut, report.runs.firstStage, { tag: first });

    const label = spec ? `${first} → ${spec.type}@${candidates}` : first;
    const warning = report.lift ? worseThanFirstStage(report.lift, metrics, label) : undefined;
    if (warning) console.error(warning);
    if (format === "json") {
      const out: Record<string, unknown> = {
        dataset: flags.dataset,
        split: flags.split,
        retriever: redactedSpec(described as RerankerSpec),
        reranker: spec ? redactedSpec(spec) : null,
        depth,
        candidates: spec ? candidates : null,
        numQueries: report.numQueries,
        metrics: report.metrics,
      };
      if (report.firstStage) out.firstStage = report.firstStage;
      if (report.lift) out.lift = report.lift;
      if (warning) out.warning = warning;
      out.timings = timingJson(report, indexMs);
      if (flags.perQuery) out.perQuery = perQueryJson(report.evaluation);
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    if (report.lift) console.log(formatLiftTable(report.lift, { before: first, after: label }));
    else console.log(formatMetricsTable({ label, metrics: report.metrics }, { metrics }));
    console.log(describeCoverage(report.evaluation));
    const t = timingJson(report, indexMs) as { indexMs: number; search: { queriesPerSecond: number; msPerQuery: number }; rerank?: { p50Ms: number; p95Ms: number } };
    const lines = [`index ${t.indexMs} ms${documents !== undefined ? ` (${documents} documents)` : ""}`, `search ${t.search.msPerQuery} ms/query (${t.search.queriesPerSecond} queries/s, top ${depth})`];
    if (t.rerank) lines.push(`rerank p50 ${t.rerank.p50Ms} ms, p95 ${t.rerank.p95Ms} ms per query (${candidates} candidates)`);
    console.log(lines.join("; "));
    if (flags.perQuery) {
      console.log("");
      console.log(formatMetricsTable([...report.evaluation.perQuery].map(([qid, m]) => ({ label: qid, metrics: m })), { metrics, labelHeader: "query" }));
    }
  });
}
