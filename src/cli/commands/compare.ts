import { basename } from "node:path";
import type { Command } from "commander";
import { writeFileAtomic } from "../../core/atomic-file.js";
import { evaluateRun } from "../../eval/evaluate.js";
import { perQueryView } from "../../eval/per-query-view.js";
import { renderPerQueryPage } from "../../report/per-query-view.js";
import { compareRuns, type RunComparison } from "../../eval/compare/compare-runs.js";
import { readQrels, readRun } from "../../eval/readers/trec.js";
import { DEFAULT_RANDOMIZATION_SEED, DEFAULT_RANDOMIZATION_TRIALS } from "../../eval/significance.js";
import { UsageError } from "../usage-error.js";
import { requiredNumberFlag } from "../number-flag.js";

interface CompareFlags {
  qrels: string;
  metric: string;
  seed: string;
  permutations: string;
  alpha: string;
  format: string;
  perQuery?: boolean;
  html?: string;
}

export function verdict(c: RunComparison, alpha: number): string {
  const rel = c.relativeDelta === null ? "" : ` (${c.relativeDelta >= 0 ? "+" : ""}${(100 * c.relativeDelta).toFixed(1)}%)`;
  const significant = c.randomization.pValue < alpha;
  const direction = c.delta > 0 ? "B is better" : c.delta < 0 ? "B is worse" : "no difference";
  return significant
    ? `${direction}: ${c.metric} ${c.delta >= 0 ? "+" : ""}${c.delta.toFixed(4)}${rel}, significant at α=${alpha} (randomization p=${c.randomization.pValue.toFixed(4)})`
    : `no significant difference at α=${alpha}: ${c.metric} ${c.delta >= 0 ? "+" : ""}${c.delta.toFixed(4)}${rel}, randomization p=${c.randomization.pValue.toFixed(4)}`;
}

/** `winnow compare`: is run B really better than run A? */
export function register(program: Command): void {
  program
    .command("compare")
    .description("compare two TREC runs query by query: deltas, wins/ties/losses, paired randomization test and t-test")
    .argument("<runA>", "baseline run (TREC format)")
    .argument("<runB>", "candidate run (TREC format)")
    .requiredOption("--qrels <file>", "judgments (BEIR qrels .tsv or TREC qrels)")
    .option("--metric <name>", "trec_eval measure", "ndcg_cut_10")
    .option("--seed <n>", "randomization test seed (the same default as `winnow eval`)", String(DEFAULT_RANDOMIZATION_SEED))
    .option("--permutations <n>", "randomization test permutations", String(DEFAULT_RANDOMIZATION_TRIALS))
    .option("--alpha <p>", "significance level for the verdict", "0.05")
    .option("--format <fmt>", "table | json", "table")
    .option("--per-query", "list every query's delta")
    .option("--html <file>", "also write a self-contained page: each query's top 10 of A and B side by side, judged relevance marked, sorted by how much B helped or hurt")
    .action(async (runAPath: string, runBPath: string, flags: CompareFlags) => {
      const seed = requiredNumberFlag("--seed", flags.seed, { min: 0, max: 2 ** 32 - 1 });
      const permutations = requiredNumberFlag("--permutations", flags.permutations, { min: 1, max: 10_000_000 });
      const alpha = Number(flags.alpha);
      if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha must be in (0, 1), got "${flags.alpha}"`);
      if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
      const [qrels, a, b] = await Promise.all([readQrels(flags.qrels), readRun(runAPath), readRun(runBPath)]);
      const c = compareRuns(qrels, a, b, { metric: flags.metric, seed, permutations });
      if (flags.html) {
        const view = perQueryView(qrels, a, b, evaluateRun(qrels, a, [c.metric]), evaluateRun(qrels, b, [c.metric]), { metric: c.metric, before: `A ${basename(runAPath)}`, after: `B ${basename(runBPath)}` });
        const page = renderPerQueryPage(view, { title: `${basename(runBPath)} against ${basename(runAPath)}: ${c.metric} per query`, context: [`qrels ${flags.qrels}`, `${c.numQueries} judged queries`, verdict(c, alpha)] });
        try {
          await writeFileAtomic(flags.html, page);
        } catch (err) {
          throw new UsageError(`--html ${flags.html}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
        if (flags.format === "table") console.error(`per-query view written to ${flags.html}`);
      }
      if (flags.format === "json") {
        const out: Record<string, unknown> = { runA: runAPath, runB: runBPath, ...c, verdict: verdict(c, alpha) };
        if (!flags.perQuery) delete out.perQuery;
        console.log(JSON.stringify(out, null, 2));
        return;
      }
      const lines = [
        `${c.metric} over ${c.numQueries} judged queries`,
        `  A ${runAPath}: ${c.a.toFixed(4)}`,
        `  B ${runBPath}: ${c.b.toFixed(4)}`,
        `  delta B−A: ${c.delta >= 0 ? "+" : ""}${c.delta.toFixed(4)}${c.relativeDelta === null ? "" : ` (${(100 * c.relativeDelta).toFixed(1)}%)`}`,
        `  wins/ties/losses (B vs A): ${c.wins}/${c.ties}/${c.losses}`,
        `  paired randomization test: p=${c.randomization.pValue.toFixed(4)} (${c.randomization.permutations} permutations, seed ${c.randomization.seed})`,
        `  paired t-test: t=${c.tTest.t.toFixed(3)}, df=${c.tTest.df}, p=${c.tTest.pValue.toFixed(4)}`,
        verdict(c, alpha),
      ];
      if (flags.perQuery) {
        lines.push("", "query\tA\tB\tdelta");
        for (const q of [...c.perQuery].sort((x, y) => x.delta - y.delta)) lines.push(`${q.query}\t${q.a.toFixed(4)}\t${q.b.toFixed(4)}\t${q.delta >= 0 ? "+" : ""}${q.delta.toFixed(4)}`);
      }
      console.log(lines.join("\n"));
    });
}
