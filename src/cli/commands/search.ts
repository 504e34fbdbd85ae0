import type { Command } from "commander";
import type { Candidate, MetadataFilter } from "../../core/types.js";
import { UsageError } from "../usage-error.js";
import { numberFlag, requiredNumberFlag } from "../number-flag.js";
import { addRetrieverOption, openRetriever, retrieverSpecFromFlag } from "../retriever-options.js";

interface SearchFlags {
  index?: string;
  dataset?: string;
  retriever: string;
  k: string;
  format: string;
  k1?: string;
  b?: string;
  filter?: string;
}

function parseFilter(value: string | undefined): MetadataFilter | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as MetadataFilter;
  } catch {
    throw new UsageError(`--filter must be a JSON object such as '{"year":{"gte":2020}}', got ${JSON.stringify(value)}`);
  }
}

/** One line per hit: rank, score, id and as much of title/text as fits the terminal. */
function formatTable(hits: Candidate[]): string {
  if (hits.length === 0) return "no results";
  const width = Math.max(60, process.stdout.columns ?? 100);
  const idWidth = Math.min(24, Math.max(2, ...hits.map((h) => h.document.id.length)));
  const lines = [`${"rank".padStart(4)}  ${"score".padStart(8)}  ${"id".padEnd(idWidth)}  text`];
  for (const h of hits) {
    const head = `${String(h.rank).padStart(4)}  ${h.score.toFixed(4).padStart(8)}  ${h.document.id.slice(0, idWidth).padEnd(idWidth)}  `;
    const body = (h.document.title ? `${h.document.title} — ${h.document.text}` : h.document.text).replace(/\s+/g, " ");
    const room = width - head.length;
    lines.push(head + (body.length > room ? `${body.slice(0, Math.max(0, room - 1))}…` : body));
  }
  return lines.join("\n");
}

/** `winnow search`: queries a saved BM25 index, or any registered first stage (--retriever). */
export function register(program: Command): void {
  const cmd = program
    .command("search")
    .description("search a BM25 index built with `winnow index` (or any first stage: --retriever)")
    .argument("<query>", "query text")
    .option("--index <dir>", "index folder (`winnow index`; `winnow embed` adds the vectors dense search reads)")
    .option("--dataset <dir>", "BEIR folder to index (or embed) on the fly instead of a saved index")
    .option("-k, --k <n>", "number of results", "10")
    .option("--format <format>", "table | json", "table")
    .option("--k1 <number>", "BM25 k1 for this query (default: the index's); the bm25 spec's k1")
    .option("--b <number>", "BM25 b for this query (default: the index's); the bm25 spec's b")
    .option("--filter <json>", "metadata filter, e.g. '{\"year\":{\"gte\":2020},\"lang\":[\"en\",\"de\"]}'");
  addRetrieverOption(cmd).action(async (query: string, flags: SearchFlags) => {
      const k = requiredNumberFlag("-k", flags.k, { min: 1, max: 100_000 });
      if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
      const k1 = numberFlag("--k1", flags.k1, { min: 0, max: 100, integer: false });
      const b = numberFlag("--b", flags.b, { min: 0, max: 1, integer: false });
      const filter = parseFilter(flags.filter);
      // --k1/--b are the bm25 row's options: with another retriever its schema refuses them by name.
      const spec = retrieverSpecFromFlag(flags.retriever, { k1, b });
      const retriever = await openRetriever(spec, { index: flags.index, dataset: flags.dataset });
      let hits: Candidate[];
      try {
        hits = await retriever.search(query, k, filter !== undefined ? { filter } : {});
      } finally {
        await retriever.close?.();
      }
      if (flags.format === "json") {
        console.log(JSON.stringify(hits.map((h) => ({ rank: h.rank, id: h.document.id, score: h.score, document: h.document })), null, 2));
      } else {
        console.log(formatTable(hits));
      }
    });
}
