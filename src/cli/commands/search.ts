import type { Command } from "commander";
import type { Candidate, MetadataFilter } from "../../core/types.js";
import { UsageError } from "../usage-error.js";
import { numberFlag, requiredNumberFlag } from "../number-flag.js";

interface SearchFlags {
  index: string;
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

/** `winnow search`: queries a saved BM25 index. */
export function register(program: Command): void {
  program
    .command("search")
    .description("search a BM25 index built with `winnow index`")
    .argument("<query>", "query text")
    .requiredOption("--index <dir>", "index folder")
    .option("-k, --k <n>", "number of results", "10")
    .option("--format <format>", "table | json", "table")
    .option("--k1 <number>", "BM25 k1 for this query (default: the index's)")
    .option("--b <number>", "BM25 b for this query (default: the index's)")
    .option("--filter <json>", "metadata filter, e.g. '{\"year\":{\"gte\":2020},\"lang\":[\"en\",\"de\"]}'")
    .action(async (query: string, flags: SearchFlags) => {
      const k = requiredNumberFlag("-k", flags.k, { min: 1, max: 100_000 });
      if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
      const k1 = numberFlag("--k1", flags.k1, { min: 0, max: 100, integer: false });
      const b = numberFlag("--b", flags.b, { min: 0, max: 1, integer: false });
      const filter = parseFilter(flags.filter);
      const { Bm25Index } = await import("../../retrieval/bm25/bm25-index.js");
      const index = await Bm25Index.load(flags.index);
      const options: { k1?: number; b?: number; filter?: MetadataFilter } = {};
      if (k1 !== undefined) options.k1 = k1;
      if (b !== undefined) options.b = b;
      if (filter !== undefined) options.filter = filter;
      const hits = await index.search(query, k, options);
      if (flags.format === "json") {
        console.log(JSON.stringify(hits.map((h) => ({ rank: h.rank, id: h.document.id, score: h.score, document: h.document })), null, 2));
      } else {
        console.log(formatTable(hits));
      }
    });
}
