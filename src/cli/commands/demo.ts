import { join } from "node:path";
import type { Command } from "commander";
import type { Candidate, Query, RankedResult, Reranker, Retriever } from "../../core/types.js";
import { runExperiment } from "../../eval/experiment.js";
import { loadBeirDataset } from "../../eval/readers/beir.js";
import type { Qrels } from "../../eval/readers/qrels.js";
import { formatLiftTable } from "../../eval/table.js";
import { PACKAGE_ROOT } from "../../rerankers/learned/default-model.js";
import { createReranker, rerankerTraits, type RerankerSpec } from "../../rerankers/registry.js";
import { addRerankerOptions, rerankerSpecFromFlags } from "../reranker-options.js";
import { addRetrieverOption, openRetriever, retrieverSpecFromFlag } from "../retriever-options.js";
import { UsageError } from "../usage-error.js";
import { requiredNumberFlag } from "../number-flag.js";

interface DemoFlags {
  dataset?: string;
  split: string;
  query?: string;
  candidates: string;
  format: string;
  reranker?: string;
  rerankerConfig?: string;
  retriever: string;
}

const METRICS = ["ndcg_cut_10", "recall_100", "recip_rank", "map"] as const;
const METRIC_LABELS: Record<string, string> = { ndcg_cut_10: "nDCG@10", recall_100: "R@100", recip_rank: "MRR", map: "MAP" };

function excerpt(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

/**
 * The default example: the first judged query whose first-stage candidates include a relevant
 * document. A query whose relevant documents the first stage never retrieved shows nothing a
 * reranker could do, which makes a poor first impression of what reranking is for.
 */
async function firstRerankableQuery(queries: Query[], qrels: Qrels, index: Retriever, k: number): Promise<Query> {
  for (const q of queries) {
    const judged = q.id !== undefined ? qrels.get(q.id) : undefined;
    if (!judged) continue;
    const hits = await index.search(q, k);
    if (hits.some((h) => (judged.get(h.document.id) ?? 0) > 0)) return q;
  }
  return queries[0];
}

/** The example query's results: reranked rank, first-stage rank, score, id, judged relevance, title. */
function exampleTable(results: RankedResult[], candidates: Candidate[], judged: Map<string, number> | undefined, firstStage: string): string {
  const rows = results.slice(0, 10).map((r, i) => {
    const c = candidates[r.index];
    const grade = judged?.get(c.document.id);
    return [
      String(i + 1),
      String(c.rank),
      r.score.toFixed(3),
      c.document.id,
      grade !== undefined && grade > 0 ? "✓" : "",
      excerpt(c.document.title || c.document.text, 60),
    ];
  });
  const header = ["rank", firstStage, "score", "id", "rel", "title"];
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) => cells.map((cell, k) => (k <= 2 ? cell.padStart(widths[k]) : k === cells.length - 1 ? cell : cell.padEnd(widths[k]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function register(program: Command): void {
  const cmd = program
    .command("demo")
    .description("BM25 + the learned reranker on the embedded SciFact sample: one example query, then the lift over all judged queries (offline, seconds)")
    .option("--dataset <dir>", "BEIR folder (default: the bundled examples/scifact-mini)")
    .option("--split <name>", "judged split to evaluate", "test")
    .option("--query <text>", "example query (default: the split's first judged query with a relevant document among the first-stage candidates)")
    .option("--candidates <n>", "first-stage candidates reranked per query", "100")
    .option("--format <fmt>", "table | json", "table");
  addRetrieverOption(cmd);
  addRerankerOptions(cmd, "learned");
  cmd.action(async (flags: DemoFlags) => {
    if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
    const candidates = requiredNumberFlag("--candidates", flags.candidates, { min: 1, max: 1000 });
    const dir = flags.dataset ?? join(PACKAGE_ROOT, "examples", "scifact-mini");
    const json = flags.format === "json";
    const say = (line = "") => {
      if (!json) console.log(line);
    };

    const retrieverSpec = retrieverSpecFromFlag(flags.retriever);
    const first = retrieverSpec.type;
    const spec: RerankerSpec = rerankerSpecFromFlags(flags) ?? { type: "learned" };
    const t0 = performance.now();
    const dataset = await loadBeirDataset(dir, flags.split);
    const index = await openRetriever(retrieverSpec, { dataset: dir });
    const indexMs = performance.now() - t0;
    const documents = index.describe?.().documents;
    let reranker: Reranker;
    try {
      // A family that reads corpus statistics and stored terms (the learned one) takes them from the first stage's index.
      reranker = await createReranker(spec, { index: index.corpusIndex, vectors: index.vectors });
    } catch (err) {
      await index.close?.();
      throw err;
    }
    const model = spec.model !== undefined ? String(spec.model) : rerankerTraits(spec.type).defaultModel;
    const label = `${first} + ${spec.type}`;
    try {
      say(`Winnow demo: ${documents ?? "the"} documents from ${dir} indexed with ${first} in ${(indexMs / 1000).toFixed(2)} s; reranker: ${spec.type}${model ? ` (${model})` : ""}`);

      const example: Query = flags.query !== undefined ? { text: flags.query } : await firstRerankableQuery(dataset.queries, dataset.qrels, index, candidates);
      const hits = await index.search(example, candidates);
      const t1 = performance.now();
      const results = hits.length ? await reranker.rerank(example, hits) : [];
      const exampleMs = performance.now() - t1;
      const judged = example.id !== undefined ? dataset.qrels.get(example.id) : undefined;
      say();
      say(`Query${example.id !== undefined ? ` ${example.id}` : ""}: "${example.text}"`);
      if (hits.length === 0) say(`  (no ${first} hits)`);
      else {
        say(`top 10 of ${hits.length} ${first} candidates after reranking (${exampleMs.toFixed(1)} ms; rank = new rank, ${first} = first-stage rank${judged ? ", ✓ = judged relevant" : ""}):`);
        say(exampleTable(results, hits, judged, first));
      }

      const report = await runExperiment({
        queries: dataset.queries,
        qrels: dataset.qrels,
        firstStage: index,
        depth: Math.max(candidates, 100),
        reranker,
        candidates,
        metrics: [...METRICS],
      });
      const lift = report.lift!;
      say();
      say(`All ${report.numQueries} judged queries of split "${flags.split}" (${first} top ${candidates} reranked; ${METRICS.map((m) => `${m} = ${METRIC_LABELS[m]}`).join(", ")}):`);
      say(formatLiftTable(lift, { before: first, after: label }));
      const rr = report.timings.rerank;
      if (rr) say(`rerank latency per query: p50 ${rr.p50Ms.toFixed(1)} ms, p95 ${rr.p95Ms.toFixed(1)} ms (${candidates} candidates)`);
      say();
      // What to try next, after the default run (a reranker chosen by flag needs no such advice).
      if (cmd.getOptionValueSource("reranker") === "default" && flags.rerankerConfig === undefined) {
        say("Next: use a cross-encoder instead (needs the model in a local folder or the Hugging Face cache, or network):");
        say("  npx winnow demo --reranker cross-encoder --model cross-encoder/ms-marco-MiniLM-L-6-v2");
        say("Evaluate on your own BEIR folder: npx winnow eval --dataset DIR --reranker learned; train your own: npx winnow train --dataset DIR --out model.json");
        say("Docs: docs/learned.md (learned reranker), docs/cross-encoder.md (cross-encoders), docs/evaluation.md (eval, lift).");
      }
      if (json) {
        console.log(
          JSON.stringify(
            {
              dataset: dir,
              split: flags.split,
              retriever: index.describe?.() ?? retrieverSpec,
              documents: documents ?? null,
              reranker: spec.type,
              candidates,
              example: {
                query: example,
                results: results.slice(0, 10).map((r, i) => ({ rank: i + 1, firstStageRank: hits[r.index].rank, score: r.score, id: r.id, relevant: (judged?.get(r.id) ?? 0) > 0, title: hits[r.index].document.title })),
              },
              queries: report.numQueries,
              metrics: { [first]: report.firstStage, [label]: report.metrics },
              lift,
              timings: { indexMs, rerank: report.timings.rerank },
            },
            null,
            2,
          ),
        );
      }
    } finally {
      await reranker.close?.();
      await index.close?.();
    }
  });
}
