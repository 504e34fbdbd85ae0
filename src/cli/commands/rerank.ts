import type { Command } from "commander";
import { InvalidInputError, isWinnowError } from "../../core/errors.js";
import type { Document, RankedResult } from "../../core/types.js";
import { readLines, requirePath } from "../../eval/readers/line-reader.js";
import { createReranker } from "../../rerankers/registry.js";
import { addRerankerOptions, rerankerSpecFromFlags } from "../reranker-options.js";
import { UsageError } from "../usage-error.js";
import { parseFormat, parsePositiveInt } from "./metrics.js";

/** More than this many documents is a retrieval job, not a rerank call; the limit keeps a typo'd file from taking minutes. */
export const MAX_RERANK_DOCS = 10_000;

/**
 * Collects the documents of a docs file line by line: JSONL of `{"id","text","title"?}`
 * objects, BEIR corpus lines (`_id`), JSON strings, or plain text lines (one document
 * per line). Lines that start with `{` must be valid JSON objects; errors name the line.
 * A document without an id gets its position (0, 1, …). Ids must be unique: results
 * are reported by id, so two documents with one id could not be told apart.
 */
class DocsCollector {
  readonly docs: Document[] = [];
  private readonly firstLine = new Map<string, number>();

  constructor(private readonly file: string) {}

  add(raw: string, lineNumber: number): void {
    const line = raw.trim();
    if (line === "") return;
    const file = this.file;
    const where = `${file}:${lineNumber}`;
    if (this.docs.length >= MAX_RERANK_DOCS) throw new InvalidInputError(`${file}: more than ${MAX_RERANK_DOCS} documents`, { field: "docs", max: MAX_RERANK_DOCS });
    let doc: Document;
    if (line.startsWith("{") || line.startsWith('"')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        throw new InvalidInputError(`${where}: invalid JSON (${(err as Error).message})`, { file, line: lineNumber });
      }
      if (typeof parsed === "string") {
        doc = { id: String(this.docs.length), text: parsed };
      } else {
        const o = parsed as Record<string, unknown>;
        if (o === null || typeof o !== "object" || Array.isArray(o)) throw new InvalidInputError(`${where}: expected an object or a string`, { file, line: lineNumber });
        if (typeof o.text !== "string") throw new InvalidInputError(`${where}: "text" must be a string`, { file, line: lineNumber, field: "text" });
        if (o.title !== undefined && typeof o.title !== "string") throw new InvalidInputError(`${where}: "title" must be a string`, { file, line: lineNumber, field: "title" });
        const rawId = o.id ?? o._id ?? this.docs.length;
        if (typeof rawId !== "string" && typeof rawId !== "number") throw new InvalidInputError(`${where}: "id" must be a string or number`, { file, line: lineNumber, field: "id" });
        doc = { id: String(rawId), text: o.text };
        if (typeof o.title === "string" && o.title !== "") doc.title = o.title;
      }
    } else {
      doc = { id: String(this.docs.length), text: line };
    }
    const first = this.firstLine.get(doc.id);
    if (first !== undefined) {
      throw new InvalidInputError(`${where}: duplicate document id "${doc.id}" (first on line ${first}); ids must be unique (documents without an id get their position: 0, 1, …)`, {
        file,
        line: lineNumber,
        field: "id",
      });
    }
    this.firstLine.set(doc.id, lineNumber);
    this.docs.push(doc);
  }

  finish(): Document[] {
    if (this.docs.length === 0) throw new InvalidInputError(`${this.file}: no documents to rerank (the file is empty or has only blank lines)`, { file: this.file, field: "docs" });
    return this.docs;
  }
}

/** Parses the text of a docs file (see DocsCollector for the accepted lines). */
export function parseDocsFile(content: string, file: string): Document[] {
  const collector = new DocsCollector(file);
  content.split(/\r\n|\n|\r/).forEach((line, i) => collector.add(line, i + 1));
  return collector.finish();
}

/**
 * Streams a docs file (or stdin for "-") through the shared line reader, so invalid
 * UTF-8 is refused with its line and a huge file is read only up to the document limit.
 */
export async function readDocsFile(path: string): Promise<Document[]> {
  const file = path === "-" ? "<stdin>" : path;
  if (path !== "-") await requirePath(path, "file", "--docs: documents file");
  const collector = new DocsCollector(file);
  try {
    for await (const { line, lineNumber } of readLines(path === "-" ? process.stdin : path, { name: file })) collector.add(line, lineNumber);
  } catch (err) {
    if (isWinnowError(err)) throw err;
    throw new UsageError(`--docs ${path}: ${(err as Error).message}`);
  }
  return collector.finish();
}

function snippet(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

function formatTable(results: RankedResult[], docs: Document[]): string {
  const rows = results.map((r, i) => {
    const d = r.details ?? {};
    // NaN is a candidate the reranker could not score (details.unscored): say so, not "NaN".
    return [String(i + 1), r.id, Number.isNaN(r.score) ? "unscored" : r.score.toFixed(4), typeof d.logit === "number" ? d.logit.toFixed(3) : "", d.windows !== undefined ? String(d.windows) : "", snippet(docs[r.index].title ? `${docs[r.index].title}: ${docs[r.index].text}` : docs[r.index].text, 70)];
  });
  const head = ["rank", "id", "score", "logit", "windows", "text"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r: string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join("  ");
  return [fmt(head), ...rows.map(fmt)].join("\n");
}

interface RerankFlags {
  query?: string;
  docs?: string;
  topN?: string;
  format: string;
  [flag: string]: unknown;
}

/** `winnow rerank`: any reranker family over a query and a file of documents. */
export function register(program: Command): void {
  const cmd = program
    .command("rerank")
    .description("rerank documents for a query with any reranker family (default: cross-encoder)")
    .requiredOption("-q, --query <text>", "the query")
    .requiredOption("-d, --docs <file>", "documents (UTF-8, unique ids): JSONL {id,text,title?} or BEIR corpus lines, JSON strings, or one text per line; - for stdin")
    .option("-n, --top-n <n>", "keep the best n")
    .option("--format <format>", "table | json", "table");
  addRerankerOptions(cmd, "cross-encoder").action(async (flags: RerankFlags) => {
    const format = parseFormat(flags.format);
    const topN = flags.topN === undefined ? undefined : parsePositiveInt("--top-n", flags.topN);
    const spec = rerankerSpecFromFlags(flags as Parameters<typeof rerankerSpecFromFlags>[0]);
    if (!spec) throw new UsageError("rerank needs a reranker: --reranker <type> (and --model for cross-encoders)");
    const docs = await readDocsFile(flags.docs!);
    const t0 = performance.now();
    const reranker = await createReranker(spec);
    const loadMs = performance.now() - t0;
    try {
      const t1 = performance.now();
      const results = await reranker.rerank(flags.query!, docs, { topN });
      const rerankMs = performance.now() - t1;
      if (format === "json") {
        process.stdout.write(
          JSON.stringify({ query: flags.query, reranker: reranker.name, results: results.map((r) => ({ index: r.index, id: r.id, score: r.score, ...(r.details ? { details: r.details } : {}) })), timings: { loadMs: Math.round(loadMs), rerankMs: Math.round(rerankMs) } }, null, 2) + "\n",
        );
      } else {
        process.stdout.write(`${formatTable(results, docs)}\n`);
        process.stderr.write(`${reranker.name}: ${docs.length} documents in ${rerankMs.toFixed(0)} ms (model load ${loadMs.toFixed(0)} ms)\n`);
      }
    } finally {
      await reranker.close?.();
    }
  });
}
