import type { Command } from "commander";
import { evaluateRun, type EvaluateOptions, type EvaluationResult } from "../../eval/evaluate.js";
import { computeLift } from "../../eval/lift.js";
import { DEFAULT_METRICS, parseMetric } from "../../eval/metrics.js";
import { readQrels } from "../../eval/readers/qrels.js";
import { readRun } from "../../eval/readers/trec.js";
import { formatLiftTable, formatMetricsTable } from "../../eval/table.js";
import { UsageError } from "../usage-error.js";

/** `--format` values shared by `eval` and `metrics`. */
export type OutputFormat = "table" | "json";

export function parseFormat(value: string): OutputFormat {
  if (value !== "table" && value !== "json") throw new UsageError(`--format must be "table" or "json", got "${value}"`);
  return value;
}

export function parsePositiveInt(flag: string, value: string, max = 10_000_000): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${flag} must be an integer from 1 to ${max}, got "${value}"`);
  }
  return n;
}

/** `--metrics ndcg_cut_10,map`: validated up front so a typo fails before any work. */
export function parseMetricList(value: string | undefined): string[] {
  if (value === undefined) return [...DEFAULT_METRICS];
  const names = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UsageError("--metrics needs at least one measure name");
  try {
    return [...new Set(names.map((n) => parseMetric(n).name))];
  } catch (err) {
    throw new UsageError(`--metrics: ${(err as Error).message}`);
  }
}

/** The options trec_eval exposes as -l, -M and -c. */
export function addEvaluationOptions(cmd: Command): Command {
  return cmd
    .option("--metrics <list>", `comma-separated trec_eval measure names (default ${DEFAULT_METRICS.join(",")})`)
    .option("--relevance-level <n>", "grade at or above which a document is relevant (trec_eval -l)", "1")
    .option("--no-complete", "average only over queries present in both run and qrels (default: every judged query, missing ones 0, as trec_eval -c)")
    .option("--format <format>", "table | json", "table");
}

export interface EvaluationFlags {
  metrics?: string;
  relevanceLevel: string;
  complete: boolean;
  format: string;
}

export function evaluationOptionsFromFlags(flags: EvaluationFlags): { metrics: string[]; options: EvaluateOptions; format: OutputFormat } {
  return {
    metrics: parseMetricList(flags.metrics),
    options: { relevanceLevel: parsePositiveInt("--relevance-level", flags.relevanceLevel, 1000), complete: flags.complete },
    format: parseFormat(flags.format),
  };
}

/** JSON form of per-query results: an object keyed by query id (order kept). */
export function perQueryJson(result: EvaluationResult): Record<string, Record<string, number>> {
  return Object.fromEntries(result.perQuery);
}

interface MetricsFlags extends EvaluationFlags {
  qrels: string;
  run: string;
  baseline?: string;
  depth?: string;
  perQuery?: boolean;
}

/** `winnow metrics`: trec_eval-compatible evaluation of any run file. */
export function register(program: Command): void {
  const cmd = program
    .command("metrics")
    .description("evaluate a TREC run file against qrels with trec_eval semantics (optionally against a baseline run)")
    .requiredOption("--qrels <file>", "judgments: BEIR TSV (header optional) or TREC qrels (qid 0 docid grade)")
    .requiredOption("--run <file>", "TREC run file (qid Q0 docid rank score tag)")
    .option("--baseline <file>", "first-stage run to compare against: adds deltas, wins/ties/losses and top-10 churn")
    .option("--depth <n>", "evaluate only the top n documents per query (trec_eval -M)")
    .option("--per-query", "also report every query's measures");
  addEvaluationOptions(cmd).action(async (flags: MetricsFlags) => {
    const { metrics, options, format } = evaluationOptionsFromFlags(flags);
    if (flags.depth !== undefined) options.depth = parsePositiveInt("--depth", flags.depth);
    const qrels = await readQrels(flags.qrels);
    const run = await readRun(flags.run);
    const result = evaluateRun(qrels, run, metrics, options);
    const baseline = flags.baseline === undefined ? undefined : await readRun(flags.baseline);
    const firstStage = baseline === undefined ? undefined : evaluateRun(qrels, baseline, metrics, options);
    const lift = baseline === undefined ? undefined : computeLift(qrels, baseline, run, { ...options, metrics });
    if (format === "json") {
      const out: Record<string, unknown> = {
        metrics: result.metrics,
        numQueries: result.numQueries,
        missingQueries: result.missingQueries.length,
        unjudgedQueries: result.unjudgedQueries.length,
      };
      if (firstStage) out.firstStage = firstStage.metrics;
      if (lift) out.lift = lift;
      if (flags.perQuery) out.perQuery = perQueryJson(result);
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    if (lift) console.log(formatLiftTable(lift, { before: flags.baseline, after: flags.run }));
    else console.log(formatMetricsTable({ label: flags.run, metrics: result.metrics }, { metrics }));
    console.log(describeCoverage(result));
    if (flags.perQuery) {
      console.log("");
      console.log(formatMetricsTable([...result.perQuery].map(([qid, m]) => ({ label: qid, metrics: m })), { metrics, labelHeader: "query" }));
    }
  });
}

/** One line saying what the mean is over, so a run with missing queries is not misread. */
export function describeCoverage(result: EvaluationResult): string {
  const parts = [`${result.numQueries} judged queries`];
  if (result.missingQueries.length > 0) parts.push(`${result.missingQueries.length} without results (scored 0)`);
  if (result.unjudgedQueries.length > 0) parts.push(`${result.unjudgedQueries.length} run queries without judgments (ignored)`);
  return parts.join("; ");
}
