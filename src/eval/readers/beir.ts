import { join } from "node:path";
import { InvalidInputError } from "../../core/errors.js";
import type { Document, Query } from "../../core/types.js";
import { readLines, requirePath } from "./line-reader.js";
import { readQrelsWithLines, type Qrels } from "./qrels.js";

export { readQrels, type Qrels } from "./qrels.js";

/** Parses one JSON-lines record, naming the file and line when it is not a JSON object. */
function parseRecord(file: string, lineNumber: number, line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new InvalidInputError(`${file}:${lineNumber}: malformed JSON (${(err as Error).message})`, {
      file,
      line: lineNumber,
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidInputError(`${file}:${lineNumber}: expected a JSON object`, { file, line: lineNumber });
  }
  return value as Record<string, unknown>;
}

/** BEIR ids are strings, but some exports write numbers; both name the same id. */
function recordId(file: string, lineNumber: number, record: Record<string, unknown>): string {
  const id = record._id;
  if (typeof id === "string" && id.length > 0) return id;
  if (typeof id === "number" && Number.isFinite(id)) return String(id);
  throw new InvalidInputError(`${file}:${lineNumber}: "_id" must be a non-empty string`, {
    file,
    line: lineNumber,
    field: "_id",
  });
}

function optionalString(file: string, lineNumber: number, record: Record<string, unknown>, field: string): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new InvalidInputError(`${file}:${lineNumber}: "${field}" must be a string`, { file, line: lineNumber, field });
  }
  return value;
}

/**
 * Streams `corpus.jsonl` of a BEIR folder one document at a time (constant memory),
 * mapping `{"_id","title","text", ...rest}` to a Document with the rest as metadata.
 * Throws on a malformed line, a duplicate id, or an empty corpus.
 */
export async function* readCorpus(dir: string): AsyncGenerator<Document> {
  await requirePath(dir, "directory", "dataset folder");
  const file = join(dir, "corpus.jsonl");
  await requirePath(file, "file", "corpus file");
  const seen = new Set<string>();
  for await (const { line, lineNumber } of readLines(file)) {
    if (line.trim().length === 0) continue;
    const record = parseRecord(file, lineNumber, line);
    const id = recordId(file, lineNumber, record);
    if (seen.has(id)) {
      throw new InvalidInputError(`${file}:${lineNumber}: duplicate document id "${id}"`, { file, line: lineNumber, field: "_id" });
    }
    seen.add(id);
    const text = optionalString(file, lineNumber, record, "text");
    if (text === undefined) {
      throw new InvalidInputError(`${file}:${lineNumber}: "text" must be a string`, { file, line: lineNumber, field: "text" });
    }
    const title = optionalString(file, lineNumber, record, "title");
    const { _id, title: _t, text: _x, ...rest } = record;
    const doc: Document = { id, text };
    if (title !== undefined && title.length > 0) doc.title = title;
    if (Object.keys(rest).length > 0) doc.metadata = rest;
    yield doc;
  }
  if (seen.size === 0) {
    throw new InvalidInputError(`${file}: corpus is empty (no documents)`, { file });
  }
}

/** Reads `queries.jsonl` of a BEIR folder: query id → Query {id, text}. */
export async function readQueries(dir: string): Promise<Map<string, Query>> {
  await requirePath(dir, "directory", "dataset folder");
  const file = join(dir, "queries.jsonl");
  await requirePath(file, "file", "queries file");
  const queries = new Map<string, Query>();
  for await (const { line, lineNumber } of readLines(file)) {
    if (line.trim().length === 0) continue;
    const record = parseRecord(file, lineNumber, line);
    const id = recordId(file, lineNumber, record);
    if (queries.has(id)) {
      throw new InvalidInputError(`${file}:${lineNumber}: duplicate query id "${id}"`, { file, line: lineNumber, field: "_id" });
    }
    const text = optionalString(file, lineNumber, record, "text");
    if (text === undefined || text.trim().length === 0) {
      throw new InvalidInputError(`${file}:${lineNumber}: "text" must be a non-empty string`, {
        file,
        line: lineNumber,
        field: "text",
      });
    }
    queries.set(id, { id, text });
  }
  if (queries.size === 0) {
    throw new InvalidInputError(`${file}: no queries`, { file });
  }
  return queries;
}

export interface BeirDataset {
  dir: string;
  /** The split's judged queries, in the order the qrels file first names them. */
  queries: Query[];
  qrels: Qrels;
}

/**
 * Loads the queries and judgments of one split (`qrels/<split>.tsv`). The corpus
 * is not read here: stream it with `readCorpus(dir)` when indexing.
 */
export async function loadBeirDataset(dir: string, split = "test"): Promise<BeirDataset> {
  await requirePath(dir, "directory", "dataset folder");
  if (!/^[\w.-]+$/.test(split)) {
    throw new InvalidInputError(`split must be a plain name like "test", got "${split}"`, { field: "split" });
  }
  const qrelsPath = join(dir, "qrels", `${split}.tsv`);
  const all = await readQueries(dir);
  const { qrels, firstLine } = await readQrelsWithLines(qrelsPath);
  const queries: Query[] = [];
  for (const qid of qrels.keys()) {
    const query = all.get(qid);
    if (query === undefined) {
      const line = firstLine.get(qid);
      throw new InvalidInputError(`${qrelsPath}:${line}: query id "${qid}" is not in ${join(dir, "queries.jsonl")}`, {
        file: qrelsPath,
        line,
        field: "query-id",
      });
    }
    queries.push(query);
  }
  return { dir, queries, qrels };
}
