import type { Command } from "commander";
import { addRerankerOptions, rerankerSpecFromFlags, type RerankerFlags } from "../reranker-options.js";
import { addRetrieverOption, retrieverSpecFromFlag } from "../retriever-options.js";
import { numberFlag } from "../number-flag.js";
import { UsageError } from "../usage-error.js";

interface ConnectionFlags {
  redis?: string;
  prefix: string;
}

/** Environment variables `winnow jobs` and `winnow worker` read (a flag wins over its variable). */
export const JOBS_ENVIRONMENT: Readonly<Record<string, string>> = { WINNOW_JOBS_REDIS: "--redis" };

/** The jobs Redis: --redis, else WINNOW_JOBS_REDIS (what deploy/ sets for workers). */
export function jobsConnection(flags: ConnectionFlags): { redis: string; prefix: string } {
  const redis = flags.redis ?? process.env.WINNOW_JOBS_REDIS;
  if (!redis) throw new UsageError("--redis: give a redis:// URL (or set WINNOW_JOBS_REDIS)");
  if (!/^rediss?:\/\//.test(redis)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(redis)}`);
  if (!/^[\w.-]{1,64}$/.test(flags.prefix)) throw new UsageError(`--prefix: letters, digits, _ . - (at most 64), got ${JSON.stringify(flags.prefix)}`);
  return { redis, prefix: flags.prefix };
}

export function addConnectionOptions(cmd: Command): Command {
  return cmd.option("--redis <url>", "Redis the queue and results live in (default: $WINNOW_JOBS_REDIS)").option("--prefix <name>", "key prefix of jobs and queue", "winnow");
}

interface SubmitEvalFlags extends ConnectionFlags, RerankerFlags {
  dataset: string;
  split: string;
  retriever: string;
  depth: string;
  candidates: string;
  chunkSize: string;
}

interface SubmitLabelFlags extends ConnectionFlags, RerankerFlags {
  dataset: string;
  split: string;
  retriever: string;
  candidates: string;
  maxQueries?: string;
  grading: string;
  rankCuts: string;
  scoreCuts: string;
  chunkSize: string;
}

/** `winnow jobs submit|status|results`: long runs split into chunks on BullMQ, processed by `winnow worker`s. */
export function register(program: Command): void {
  const jobs = program.command("jobs").description("run eval or label over a large collection as chunks on BullMQ (Redis): submit, watch, merge; `winnow worker` processes the chunks");
  const submit = jobs.command("submit").description("split a job into chunks (by query) and queue them; the same job submitted twice is one job");
  const evalCmd = addConnectionOptions(submit.command("eval"))
    .description("`winnow eval` as a job: each chunk runs the first stage (and reranker) over its queries; `jobs results` writes the run")
    .requiredOption("--dataset <dir>", "BEIR folder, at the same path on every worker (a shared volume)")
    .option("--split <name>", "qrels split", "test")
    .option("--depth <n>", "documents retrieved per query", "1000")
    .option("--candidates <n>", "first-stage candidates handed to the reranker", "100")
    .option("--chunk-size <n>", "queries per chunk (the unit of retry)", "50");
  addRetrieverOption(evalCmd);
  addRerankerOptions(evalCmd);
  evalCmd.action(async (flags: SubmitEvalFlags) => {
    const connection = jobsConnection(flags);
    const depth = numberFlag("--depth", flags.depth, { min: 1, max: 100_000 })!;
    const candidates = numberFlag("--candidates", flags.candidates, { min: 1, max: 100_000 })!;
    const chunkSize = numberFlag("--chunk-size", flags.chunkSize, { min: 1, max: 100_000 })!;
    const reranker = rerankerSpecFromFlags(flags);
    if (reranker && candidates > depth) throw new UsageError(`--candidates (${candidates}) must not exceed --depth (${depth})`);
    const retriever = retrieverSpecFromFlag(flags.retriever);
    const { submitJob } = await import("../../jobs/job-client.js");
    const job = await submitJob({ kind: "eval", dataset: flags.dataset, split: flags.split, retriever, ...(reranker ? { reranker } : {}), depth, candidates, chunkSize }, connection);
    console.log(JSON.stringify(job));
  });

  const labelCmd = addConnectionOptions(submit.command("label"))
    .description("`winnow label` as a job: each chunk has the reranker (an LLM judge) grade its queries' candidates; cap the endpoint's rate with `winnow worker --limit`")
    .requiredOption("--dataset <dir>", "BEIR folder, at the same path on every worker (a shared volume)")
    .option("--split <name>", "whose queries to label", "train")
    .option("--candidates <n>", "first-stage candidates per query to label", "20")
    .option("--max-queries <n>", "label only the first n queries (cost control)")
    .option("--grading <how>", "rank (position cuts) | score (pointwise 0–10 score cuts)", "rank")
    .option("--rank-cuts <a,b,c>", "positions that still earn grade 3, 2, 1", "1,3,10")
    .option("--score-cuts <a,b,c>", "lowest scores that earn grade 3, 2, 1", "8,6,4")
    .option("--chunk-size <n>", "queries per chunk (the unit of retry)", "20");
  addRetrieverOption(labelCmd);
  addRerankerOptions(labelCmd);
  labelCmd.action(async (flags: SubmitLabelFlags) => {
    const connection = jobsConnection(flags);
    const reranker = rerankerSpecFromFlags(flags);
    if (!reranker) throw new UsageError("--reranker is required (e.g. --reranker llm --base-url http://127.0.0.1:8080/v1 --model …)");
    if (flags.grading !== "rank" && flags.grading !== "score") throw new UsageError(`--grading must be "rank" or "score", got "${flags.grading}"`);
    const rawCuts = flags.grading === "rank" ? flags.rankCuts : flags.scoreCuts;
    const cuts = rawCuts.split(",").map((x) => Number(x.trim()));
    const ordered = cuts.every((x, i) => i === 0 || (flags.grading === "rank" ? x >= cuts[i - 1] : x <= cuts[i - 1]));
    if (cuts.length !== 3 || cuts.some((x) => !Number.isFinite(x)) || !ordered) throw new UsageError(`--${flags.grading}-cuts takes three ${flags.grading === "rank" ? "non-decreasing positions" : "non-increasing scores"} separated by commas, got "${rawCuts}"`);
    const candidates = numberFlag("--candidates", flags.candidates, { min: 1, max: 10_000 })!;
    const chunkSize = numberFlag("--chunk-size", flags.chunkSize, { min: 1, max: 100_000 })!;
    const maxQueries = numberFlag("--max-queries", flags.maxQueries, { min: 1, max: 10_000_000 });
    const { submitJob } = await import("../../jobs/job-client.js");
    const job = await submitJob(
      { kind: "label", dataset: flags.dataset, split: flags.split, retriever: retrieverSpecFromFlag(flags.retriever), reranker, candidates, ...(maxQueries ? { maxQueries } : {}), grading: flags.grading, cuts, chunkSize },
      connection,
    );
    console.log(JSON.stringify(job));
  });

  addConnectionOptions(jobs.command("status <id>"))
    .description("chunks done, failed and run twice (kept once)")
    .action(async (id: string, flags: ConnectionFlags) => {
      const { jobStatus } = await import("../../jobs/job-client.js");
      console.log(JSON.stringify(await jobStatus(id, jobsConnection(flags))));
    });

  addConnectionOptions(jobs.command("results <id>"))
    .description("merge a finished job's chunks and write its output atomically (eval: the TREC run `winnow eval --run-out` writes, and its measures; label: the qrels `winnow label --out` writes)")
    .requiredOption("--out <file>", "where the merged output goes")
    .action(async (id: string, flags: ConnectionFlags & { out: string }) => {
      const { writeJobResults } = await import("../../jobs/job-client.js");
      const result = await writeJobResults(id, flags.out, jobsConnection(flags));
      console.log(JSON.stringify({ id, out: flags.out, ...result }));
    });
}
