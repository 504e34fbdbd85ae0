import { InvalidInputError } from "../../core/errors.js";
import type { Candidate, Query } from "../../core/types.js";
import type { Run } from "../run.js";
import { readLines, requirePath } from "./line-reader.js";

/**
 * A record of the server's sampled request log (`winnow serve --request-log`, written by
 * src/server/request-log.ts): the query, the documents in the order the caller sent
 * them (the first stage's), and the order the server answered.
 */
export interface LoggedRequest {
  id: string;
  model: string;
  query: string;
  /** Duplicates within one request (the same text twice) are kept once, at their first position. */
  documents: Array<{ id: string; text?: string }>;
  /** Best first: positions in `documents` (after duplicates are dropped). */
  served: number[];
}

function fail(file: string, line: number, message: string): never {
  throw new InvalidInputError(`${file}:${line}: ${message}`, { field: "requestLog", file, line });
}

/** Reads a request log; every bad line is an error naming the file and line. Blank lines are skipped. */
export async function readRequestLog(file: string): Promise<LoggedRequest[]> {
  await requirePath(file, "file", "request log");
  const out: LoggedRequest[] = [];
  const seen = new Set<string>();
  for await (const { line, lineNumber } of readLines(file)) {
    if (line.trim() === "") continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      fail(file, lineNumber, `malformed JSON (${(err as Error).message})`);
    }
    const r = raw as { v?: unknown; id?: unknown; model?: unknown; query?: unknown; documents?: unknown; results?: unknown };
    if (r === null || typeof r !== "object" || r.v !== 1) fail(file, lineNumber, "not a Winnow request log record (v 1)");
    if (typeof r.id !== "string" || r.id === "") fail(file, lineNumber, "id must be a non-empty string");
    if (seen.has(r.id)) fail(file, lineNumber, `id "${r.id}" appears twice`);
    seen.add(r.id);
    if (typeof r.query !== "string") fail(file, lineNumber, "query must be a string");
    if (!Array.isArray(r.documents) || !Array.isArray(r.results)) fail(file, lineNumber, "documents and results must be arrays");
    const position = new Map<number, number>();
    const ids = new Map<string, number>();
    const documents: LoggedRequest["documents"] = [];
    r.documents.forEach((d: unknown, i: number) => {
      const doc = d as { id?: unknown; text?: unknown };
      if (doc === null || typeof doc !== "object" || typeof doc.id !== "string" || doc.id === "") fail(file, lineNumber, `documents[${i}].id must be a non-empty string`);
      if (doc.text !== undefined && typeof doc.text !== "string") fail(file, lineNumber, `documents[${i}].text must be a string`);
      const at = ids.get(doc.id);
      if (at !== undefined) {
        position.set(i, at);
        return;
      }
      ids.set(doc.id, documents.length);
      position.set(i, documents.length);
      documents.push(doc.text === undefined ? { id: doc.id } : { id: doc.id, text: doc.text });
    });
    const served: number[] = [];
    const used = new Set<number>();
    r.results.forEach((x: unknown, i: number) => {
      const index = (x as { index?: unknown })?.index;
      if (typeof index !== "number" || !position.has(index)) fail(file, lineNumber, `results[${i}].index must index documents (0..${position.size - 1})`);
      const p = position.get(index)!;
      if (!used.has(p)) served.push(p);
      used.add(p);
    });
    out.push({ id: r.id, model: typeof r.model === "string" ? r.model : "", query: r.query, documents, served });
  }
  if (out.length === 0) throw new InvalidInputError(`${file}: the request log holds no records`, { field: "requestLog", file });
  return out;
}

/**
 * The two runs a request log holds, keyed by record id: the order the caller sent
 * (the first stage's) and the order the server answered, the documents it did not
 * return below those it did in their sent order (as `winnow eval` builds a reranked run).
 */
export function requestLogRuns(records: readonly LoggedRequest[]): { firstStage: Run; served: Run } {
  const firstStage: Run = new Map();
  const served: Run = new Map();
  for (const r of records) {
    const n = r.documents.length;
    firstStage.set(r.id, r.documents.map((d, i) => ({ docId: d.id, score: n - i })));
    const returned = new Set(r.served);
    const order = [...r.served, ...r.documents.map((_, i) => i).filter((i) => !returned.has(i))];
    served.set(r.id, order.map((i, rank) => ({ docId: r.documents[i].id, score: n - rank })));
  }
  return { firstStage, served };
}

/** The logged queries and their documents as candidates in sent order, for a judge to label; needs a log with texts. */
export function requestLogCandidates(records: readonly LoggedRequest[], file: string): Array<{ query: Query; candidates: Candidate[] }> {
  return records.map((r) => {
    const missing = r.documents.findIndex((d) => d.text === undefined);
    if (missing >= 0) {
      throw new InvalidInputError(`${file}: record ${r.id} has no document texts: labelling needs them (start the server with --request-log-texts)`, { field: "requestLog", file });
    }
    return {
      query: { id: r.id, text: r.query },
      candidates: r.documents.map((d, i) => ({ document: { id: d.id, text: d.text! }, score: r.documents.length - i, rank: i + 1 })),
    };
  });
}
