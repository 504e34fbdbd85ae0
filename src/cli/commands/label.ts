import { writeStreamAtomic } from "../../core/atomic-file.js";
import { WinnowError } from "../../core/errors.js";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { Candidate, Query, RankedResult, Reranker } from "../../core/types.js";
import { loadBeirDataset } from "../../eval/readers/beir.js";
import { readRequestLog, requestLogCandidates } from "../../eval/readers/request-log.js";
import { createReranker } from "../../rerankers/registry.js";
import { addRerankerOptions, rerankerSpecFromFlags } from "../reranker-options.js";
import { addRetrieverOption, openRetriever, retrieverSpecFromFlag, terminalProgress } from "../retriever-options.js";
import { UsageError } from "../usage-error.js";
import { requiredNumberFlag } from "../number-flag.js";

interface LabelFlags {
  dataset?: string;
  requestLog?: string;
  split: string;
  out: string;
  candidates: string;
  maxQueries?: string;
  grading: string;
  rankCuts: string;
  scoreCuts: string;
  parallel: string;
  format: string;
  reranker?: string;
  retriever: string;
}

/** A candidate the reranker could not score (a pointwise LLM answer it could not read). */
export function isUnscored(r: RankedResult): boolean {
  return !Number.isFinite(r.score) || r.details?.unscored === true;
}

/**
 * Graded labels from a ranking, 3 = best. Rank grading: position p (1-based) gets
 * 3 when p ≤ cuts[0], 2 when p ≤ cuts[1], 1 when p ≤ cuts[2], else 0. Score grading
 * (pointwise LLM scores on 0–10): 3 when score ≥ cuts[0], 2 when ≥ cuts[1], 1 when
 * ≥ cuts[2], else 0. Unscored candidates get no row under either: they rank below
 * every scored one, so skipping them leaves the others' positions as they were.
 */
export function gradeRanking(results: readonly RankedResult[], grading: "rank" | "score", cuts: readonly [number, number, number]): Array<{ id: string; grade: number }> {
  const out: Array<{ id: string; grade: number }> = [];
  results.forEach((r, i) => {
    if (isUnscored(r)) return;
    if (grading === "rank") {
      const p = i + 1;
      out.push({ id: r.id, grade: p <= cuts[0] ? 3 : p <= cuts[1] ? 2 : p <= cuts[2] ? 1 : 0 });
    } else {
      out.push({ id: r.id, grade: r.score >= cuts[0] ? 3 : r.score >= cuts[1] ? 2 : r.score >= cuts[2] ? 1 : 0 });
    }
  });
  return out;
}

function parseCuts(flag: string, raw: string, ascending: boolean): [number, number, number] {
  const parts = raw.split(",").map((x) => Number(x.trim()));
  const ordered = parts.every((x, i) => i === 0 || (ascending ? x >= parts[i - 1] : x <= parts[i - 1]));
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)) || !ordered) {
    throw new UsageError(`${flag} takes three ${ascending ? "non-decreasing positions" : "non-increasing scores"} separated by commas (grades 3,2,1), got "${raw}"`);
  }
  return parts as [number, number, number];
}

/** Writes the qrels atomically, so a crash never leaves half a file; names the flag when the folder is not writable. */
async function writeAtomically(out: string, write: (line: (s: string) => Promise<void>) => Promise<void>): Promise<void> {
  try {
    await writeStreamAtomic(resolve(out), write);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "ENOENT" || code === "EROFS" || code === "ENOTDIR") {
      throw new UsageError(`--out ${out}: cannot write there (${(err as Error).message})`);
    }
    throw err;
  }
}

/** `winnow label`: LLM (or any reranker) judgments over BM25 candidates, written as BEIR qrels for `winnow train --qrels`. */
export function register(program: Command): void {
  const cmd = program
    .command("label")
    .description("rerank first-stage (default BM25) candidates of a BEIR split with a (usually LLM) reranker and write graded labels as qrels (distillation data for `winnow train --qrels`)")
    .option("--dataset <dir>", "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv (or --request-log)")
    .option("--request-log <file>", "label served traffic instead: each logged request's documents (a `winnow serve --request-log --request-log-texts` log); query ids are the record ids")
    .requiredOption("--out <file>", "labels to write (BEIR qrels TSV with header)")
    .option("--split <name>", "whose queries to label (qrels/<split>.tsv names them)", "train")
    .option("--candidates <n>", "first-stage candidates per query to label", "20")
    .option("--max-queries <n>", "label only the first n queries (cost control)")
    .option("--grading <how>", "rank (position cuts) | score (pointwise 0–10 score cuts)", "rank")
    .option("--rank-cuts <a,b,c>", "positions that still earn grade 3, 2, 1", "1,3,10")
    .option("--score-cuts <a,b,c>", "lowest scores that earn grade 3, 2, 1", "8,6,4")
    .option("--parallel <n>", "queries labelled at once (each reranker also limits its own HTTP concurrency)", "2")
    .option("--format <fmt>", "table | json summary on stdout", "table");
  addRetrieverOption(cmd);
  addRerankerOptions(cmd);
  cmd.action(async (flags: LabelFlags) => {
    const spec = rerankerSpecFromFlags(flags);
    if (!spec) throw new UsageError("--reranker is required (e.g. --reranker llm --base-url http://127.0.0.1:8080/v1 --model …)");
    if (flags.grading !== "rank" && flags.grading !== "score") throw new UsageError(`--grading must be "rank" or "score", got "${flags.grading}"`);
    if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be "table" or "json", got "${flags.format}"`);
    const grading = flags.grading;
    const cuts = grading === "rank" ? parseCuts("--rank-cuts", flags.rankCuts, true) : parseCuts("--score-cuts", flags.scoreCuts, false);
    const k = requiredNumberFlag("--candidates", flags.candidates, { min: 1, max: 10_000 });
    const parallel = requiredNumberFlag("--parallel", flags.parallel, { min: 1, max: 64 });
    if ((flags.dataset === undefined) === (flags.requestLog === undefined)) throw new UsageError("label needs --dataset DIR or --request-log FILE (one of them)");
    const retrieverSpec = retrieverSpecFromFlag(flags.retriever);
    // From a request log: the documents the caller sent are the candidates, in the order sent.
    const logged = flags.requestLog === undefined ? undefined : requestLogCandidates(await readRequestLog(flags.requestLog), flags.requestLog);
    const allQueries: Query[] = logged ? logged.map((l) => l.query) : (await loadBeirDataset(flags.dataset!, flags.split)).queries;
    const queries: Query[] = flags.maxQueries ? allQueries.slice(0, requiredNumberFlag("--max-queries", flags.maxQueries, { min: 1, max: 10_000_000 })) : allQueries;

    const terminal = terminalProgress(process.stderr.isTTY && flags.format === "table");
    const retriever: Pick<Awaited<ReturnType<typeof openRetriever>>, "search" | "close" | "corpusIndex" | "vectors"> = logged
      ? { search: async (_q: Query, _k: number) => [] as Candidate[] }
      : await openRetriever(retrieverSpec, { dataset: flags.dataset, progress: terminal.progress });
    terminal.done();
    let reranker: Reranker;
    try {
      reranker = await createReranker(spec, { index: retriever.corpusIndex, vectors: retriever.vectors });
    } catch (err) {
      await retriever.close?.();
      throw err;
    }
    const started = performance.now();
    const labels = new Array<Array<{ id: string; grade: number }> | undefined>(queries.length);
    let degraded = 0;
    let unscored = 0;
    let done = 0;
    const progress = process.stderr.isTTY && flags.format === "table";
    try {
      let next = 0;
      let stopped = false;
      const worker = async () => {
        while (next < queries.length && !stopped) {
          const qi = next++;
          try {
            await labelQuery(qi);
          } catch (err) {
            // One failed query ends the run (no partial file); stop the other workers too.
            stopped = true;
            throw err;
          }
        }
      };
      const labelQuery = async (qi: number) => {
        const candidates: Candidate[] = logged ? logged[qi].candidates.slice(0, k) : await retriever.search(queries[qi], k);
        if (candidates.length > 0) {
          const ranked = await reranker.rerank(queries[qi], candidates, { returnDocuments: false });
          // A degraded answer is the first stage's order, not the reranker's judgment: never a label.
          if (ranked.some((r) => r.details?.degraded === true)) degraded++;
          else {
            unscored += ranked.filter(isUnscored).length;
            labels[qi] = gradeRanking(ranked, grading, cuts);
          }
        }
        done++;
        if (progress) process.stderr.write(`\r${done}/${queries.length} queries labelled`);
      };
      await Promise.all(Array.from({ length: Math.min(parallel, queries.length) }, worker));
      if (progress) process.stderr.write("\n");
    } finally {
      await reranker.close?.();
      await retriever.close?.();
    }

    const labelled = labels.filter((l) => l !== undefined && l.length > 0).length;
    if (labelled === 0) {
      // A header-only file would train nothing and look like success: fail, and write nothing.
      const upstream = unscored > 0 || degraded > 0;
      const why = upstream
        ? [unscored > 0 ? `${unscored} candidates unscored: answers the reranker could not read` : "", degraded > 0 ? `${degraded} queries degraded to first-stage order` : ""].filter(Boolean).join("; ")
        : logged
          ? "the logged requests had no documents"
          : `the ${retrieverSpec.type} retriever found no candidates for any of them`;
      throw new WinnowError(upstream ? "UPSTREAM_ERROR" : "INVALID_INPUT", `nothing labelled: none of the ${queries.length} queries got a label (${why}); ${flags.out} not written`, {
        details: { queries: queries.length, unscored, degraded },
      });
    }
    const histogram = [0, 0, 0, 0];
    let rows = 0;
    await writeAtomically(flags.out, async (line) => {
      await line("query-id\tcorpus-id\tscore\n");
      for (let qi = 0; qi < queries.length; qi++) {
        for (const l of labels[qi] ?? []) {
          await line(`${queries[qi].id}\t${l.id}\t${l.grade}\n`);
          histogram[l.grade]++;
          rows++;
        }
      }
    });
    const stats = (reranker as { stats?: () => unknown }).stats?.();
    const summary = {
      out: resolve(flags.out),
      ...(logged ? { requestLog: flags.requestLog } : { dataset: flags.dataset, split: flags.split }),
      reranker: spec.type,
      queries: queries.length,
      labelled,
      skippedDegraded: degraded,
      unscored,
      rows,
      grades: { 3: histogram[3], 2: histogram[2], 1: histogram[1], 0: histogram[0] },
      grading,
      cuts,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      usage: stats ?? null,
    };
    if (flags.format === "json") {
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    console.log(`wrote ${rows} labels for ${summary.labelled}/${queries.length} queries to ${summary.out}`);
    console.log(`grades: 3=${histogram[3]} 2=${histogram[2]} 1=${histogram[1]} 0=${histogram[0]}  (${grading} cuts ${cuts.join(",")})`);
    if (degraded > 0) console.log(`skipped ${degraded} queries whose reranking degraded to first-stage order (upstream failures)`);
    if (unscored > 0) console.log(`skipped ${unscored} unscored candidates (answers the reranker could not read; see usage.repairs)`);
    const u = stats as { calls?: number; promptTokens?: number; completionTokens?: number; cost?: number; requests?: number } | undefined;
    if (u?.promptTokens !== undefined) console.log(`llm: ${u.calls} calls, ${u.promptTokens} prompt + ${u.completionTokens} completion tokens, cost ${u.cost?.toFixed(4)}`);
    else if (u?.requests !== undefined) console.log(`api: ${u.requests} requests`);
    console.log(`time: ${summary.seconds}s`);
  });
}
