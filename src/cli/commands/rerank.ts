import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { InvalidInputError } from "../../core/errors.js";
import type { Document, RankedResult } from "../../core/types.js";
import { createReranker } from "../../rerankers/registry.js";
import { addRerankerOptions, rerankerSpecFromFlags } from "../reranker-options.js";
import { UsageError } from "../usage-error.js";
import { parseFormat, parsePositiveInt } from "./metrics.js";

/** More than this many documents is a retrieval job, not a rerank call; the limit keeps a typo'd file from taking minutes. */
export const MAX_RERANK_DOCS = 10_000;

/**
 * Reads the documents to rerank: JSONL of `{"id","text","title"?}` objects, BEIR
 * corpus lines (`_id`), JSON strings, or plain text lines (one document per line).
 * Lines that start with `{` must be valid JSON objects; the error names the line.
 */
export function parseDocsFile(content: string, file: string): Document[] {
  const docs: Document[] = [];
  const lines = content.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === "") continue;
    const where = `${file}:${n + 1}`;
    if (docs.length >= MAX_RERANK_DOCS) throw new InvalidInputError(`${file}: more than ${MAX_RERANK_DOCS} documents`, { field: "docs", max: MAX_RERANK_DOCS });
    if (line.startsWith("{") || line.startsWith('"')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (err) {
        throw new InvalidInputError(`${where}: invalid JSON (${(err as Error).message})`, { file, line: n + 1 });
      }
      if (typeof parsed === "string") {
        docs.push({ id: String(docs.length), text: parsed });
        continue;
      }
      const o = parsed as Record<string, unknown>;
      if (o === null || typeof o !== "object" || Array.isArray(o)) throw new InvalidInputError(`${where}: expected an object or a string`, { file, line: n + 1 });
      if (typeof o.text !== "string") throw new InvalidInputError(`${where}: "text" must be a string`, { file, line: n + 1, field: "text" });
      if (o.title !== undefined && typeof o.title !== "string") throw new InvalidInputError(`${where}: "title" must be a string`, { file, line: n + 1, field: "title" });
      const rawId = o.id ?? o._id ?? docs.length;
      if (typeof rawId !== "string" && typeof rawId !== "number") throw new InvalidInputError(`${where}: "id" must be a string or number`, { file, line: n + 1, field: "id" });
      const doc: Document = { id: String(rawId), text: o.text };
      if (typeof o.title === "string" && o.title !== "") doc.title = o.title;
      docs.push(doc);
      continue;
    }
    docs.push({ id: String(docs.length), text: line });
  }
  return docs;
}

function readDocs(path: string): Document[] {
  let content: string;
  try {
    content = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (err) {
    throw new UsageError(`--docs ${path}: ${(err as Error).message}`);
  }
  return parseDocsFile(content, path === "-" ? "<stdin>" : path);
}

function snippet(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
}

function formatTable(results: RankedResult[], docs: Document[]): string {
  const rows = results.map((r, i) => {
    const d = r.details ?? {};
    return [String(i + 1), r.id, r.score.toFixed(4), typeof d.logit === "number" ? d.logit.toFixed(3) : "", d.windows !== undefined ? String(d.windows) : "", snippet(docs[r.index].title ? `${docs[r.index].title}: ${docs[r.index].text}` : docs[r.index].text, 70)];
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
    .requiredOption("-d, --docs <file>", "documents: JSONL {id,text,title?} or BEIR corpus lines, JSON strings, or one text per line; - for stdin")
    .option("-n, --top-n <n>", "keep the best n")
    .option("--format <format>", "table | json", "table");
  addRerankerOptions(cmd, "cross-encoder").action(async (flags: RerankFlags) => {
    const format = parseFormat(flags.format);
    const topN = flags.topN === undefined ? undefined : parsePositiveInt("--top-n", flags.topN);
    const spec = rerankerSpecFromFlags(flags as Parameters<typeof rerankerSpecFromFlags>[0]);
    if (!spec) throw new UsageError("rerank needs a reranker: --reranker <type> (and --model for cross-encoders)");
    if (spec.type === "cross-encoder" && spec.model === undefined) throw new UsageError("--model is required for the cross-encoder (a hub id or a model folder)");
    const docs = readDocs(flags.docs!);
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
