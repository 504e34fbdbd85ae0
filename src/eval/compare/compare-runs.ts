import { evaluateRun, type EvaluateOptions } from "../evaluate.js";
import type { Qrels } from "../readers/qrels.js";
import type { RunEntry } from "../run.js";
import { pairedQueries } from "../paired-queries.js";
import { DEFAULT_RANDOMIZATION_SEED, DEFAULT_RANDOMIZATION_TRIALS, pairedRandomizationTest } from "../significance.js";
import { pairedTTest, type TTestResult } from "./paired-t-test.js";

export interface CompareOptions extends EvaluateOptions {
  /** trec_eval measure name (default ndcg_cut_10). */
  metric?: string;
  permutations?: number;
  seed?: number;
}

export interface RunComparison {
  metric: string;
  numQueries: number;
  a: number;
  b: number;
  /** b − a. */
  delta: number;
  /** (b − a) / a, or null when a is 0. */
  relativeDelta: number | null;
  wins: number;
  ties: number;
  losses: number;
  randomization: { pValue: number; permutations: number; seed: number };
  tTest: TTestResult;
  perQuery: Array<{ query: string; a: number; b: number; delta: number }>;
}

const TIE = 1e-12;

/**
 * Run B against run A on one measure, query by query: mean delta, wins/ties/losses,
 * and two paired significance tests, so "a 2% lift" comes with the odds it is noise.
 * Queries are every judged query (trec_eval -c): a query missing from a run scores 0.
 * The pairing, seed and trial count are those of `computeLift`, so `winnow compare` and
 * `winnow eval` print the same p for the same two runs.
 */
export function compareRuns(
  qrels: Qrels,
  runA: ReadonlyMap<string, readonly RunEntry[]>,
  runB: ReadonlyMap<string, readonly RunEntry[]>,
  options: CompareOptions = {},
): RunComparison {
  const metric = options.metric ?? "ndcg_cut_10";
  const evalOptions: EvaluateOptions = { relevanceLevel: options.relevanceLevel, complete: options.complete, depth: options.depth };
  const ea = evaluateRun(qrels, runA, [metric], evalOptions);
  const eb = evaluateRun(qrels, runB, [metric], evalOptions);
  const name = Object.keys(ea.metrics)[0] ?? metric;
  const perQuery: RunComparison["perQuery"] = pairedQueries(ea, eb, name).map((q) => ({ query: q.query, a: q.before, b: q.after, delta: q.delta }));
  const diffs = perQuery.map((q) => q.delta);
  const permutations = options.permutations ?? DEFAULT_RANDOMIZATION_TRIALS;
  const seed = options.seed ?? DEFAULT_RANDOMIZATION_SEED;
  const a = perQuery.reduce((s, q) => s + q.a, 0) / Math.max(1, perQuery.length);
  const b = perQuery.reduce((s, q) => s + q.b, 0) / Math.max(1, perQuery.length);
  return {
    metric: name,
    numQueries: perQuery.length,
    a,
    b,
    delta: b - a,
    relativeDelta: a === 0 ? null : (b - a) / a,
    wins: diffs.filter((d) => d > TIE).length,
    ties: diffs.filter((d) => Math.abs(d) <= TIE).length,
    losses: diffs.filter((d) => d < -TIE).length,
    randomization: { pValue: pairedRandomizationTest(diffs, { trials: permutations, seed }), permutations, seed },
    tTest: pairedTTest(diffs),
    perQuery,
  };
}
