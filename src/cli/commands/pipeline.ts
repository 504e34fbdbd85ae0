import type { Command } from "commander";
import type { MetadataFilter } from "../../core/types.js";
import { loadPipeline } from "../../pipeline/pipeline-config.js";
import type { PipelineResult } from "../../pipeline/pipeline.js";
import { UsageError } from "../usage-error.js";
import { numberFlag } from "../number-flag.js";

interface PipelineFlags {
  config: string;
  query: string[];
  topN?: string;
  budgetMs?: string;
  filter?: string;
  format: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function formatResult(r: PipelineResult): string {
  const t = r.timings;
  const stageText = r.stages.map((s) => `${s.name} ${s.reranked}/${s.candidates} in ${s.ms.toFixed(1)} ms${s.dropped ? ` (${s.dropped} below threshold)` : ""}`).join(", ");
  const lines = [
    `query: ${r.query}`,
    `retrieval ${Object.entries(t.retrieval).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(", ")}; ${r.candidates} candidates${stageText ? `; ${stageText}` : ""}; total ${t.total.toFixed(1)} ms${r.budget ? ` (budget ${r.budget.ms} ms${r.budget.exhausted ? ", ran out" : ""})` : ""}`,
  ];
  r.results.forEach((h, i) => {
    const title = h.document?.title ? `${h.document.title} — ` : "";
    const text = `${title}${h.document?.text ?? ""}`.replace(/\s+/g, " ").slice(0, 90);
    lines.push(`${String(i + 1).padStart(3)}. ${h.id.padEnd(12)} ${h.score.toFixed(4).padStart(9)} ${h.reranked ? " " : "*"} (first stage #${h.firstStageRank}) ${text}`);
  });
  if (r.results.some((h) => !h.reranked) && r.stages.length > 0) lines.push("  * not reranked (below a stage's topK or past the budget): first-stage order");
  return lines.join("\n");
}

/** `winnow pipeline`: run a configured retrieve → fuse → rerank pipeline for one or more queries. */
export function register(program: Command): void {
  program
    .command("pipeline")
    .description("search with a pipeline config (retrievers, fusion, reranker cascade, budget, cache): see docs/pipelines.md")
    .requiredOption("--config <file>", "pipeline config (YAML or JSON)")
    .requiredOption("-q, --query <text>", "query text (repeatable)", collect, [] as string[])
    .option("--top-n <n>", "results to return (default: the config's topN)")
    .option("--budget-ms <ms>", "latency budget for this search (overrides the config)")
    .option("--filter <json>", 'metadata filter, e.g. \'{"year": {"gte": 2020}}\'')
    .option("--format <fmt>", "table | json", "table")
    .action(async (flags: PipelineFlags) => {
      const topN = numberFlag("--top-n", flags.topN, { min: 1 });
      const budgetMs = flags.budgetMs === undefined ? undefined : Number(flags.budgetMs);
      if (budgetMs !== undefined && !(budgetMs > 0)) throw new UsageError(`--budget-ms must be a number > 0, got "${flags.budgetMs}"`);
      if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
      let filter: MetadataFilter | undefined;
      if (flags.filter !== undefined) {
        try {
          filter = JSON.parse(flags.filter) as MetadataFilter;
        } catch (err) {
          throw new UsageError(`--filter is not valid JSON: ${(err as Error).message}`);
        }
      }
      const pipeline = await loadPipeline(flags.config);
      try {
        const results: PipelineResult[] = [];
        for (const q of flags.query) results.push(await pipeline.search(q, { topN, budgetMs, filter }));
        if (flags.format === "json") console.log(JSON.stringify(results.length === 1 ? results[0] : results, null, 2));
        else console.log(results.map(formatResult).join("\n\n"));
      } finally {
        await pipeline.close();
      }
    });
}
