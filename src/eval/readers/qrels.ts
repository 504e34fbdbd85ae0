import { InvalidInputError } from "../../core/errors.js";
import { readLines, requirePath } from "./line-reader.js";

/** Relevance judgments: query id → document id → graded relevance (>= 1 relevant by default). */
export type Qrels = Map<string, Map<string, number>>;

/** Qrels plus where each query first appears, so callers can point at the offending line. */
export interface QrelsWithLines {
  qrels: Qrels;
  /** query id → 1-based line number of its first judgment. */
  firstLine: Map<string, number>;
  format: "beir" | "trec";
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A grade as trec_eval reads it: an integer, written "2" or "2.0"; anything else is refused, not truncated. */
function parseGrade(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Parses a qrels file, detecting the format from the first data line:
 * BEIR TSV `query-id<TAB>corpus-id<TAB>score` (header line optional) or
 * TREC `qid iter docid grade`. Grades must be integers ("1" or "1.0"), as trec_eval
 * reads them; a fractional grade is an error rather than silently truncated.
 * A repeated (query, document) pair is an error: trec_eval keeps one of them
 * arbitrarily, so a silent choice here could disagree with it.
 */
export async function readQrelsWithLines(path: string): Promise<QrelsWithLines> {
  await requirePath(path, "file", "qrels file");
  const qrels: Qrels = new Map();
  const firstLine = new Map<string, number>();
  let format: "beir" | "trec" | undefined;
  let sawData = false;
  for await (const { line, lineNumber } of readLines(path)) {
    const trimmed = line.trim();
    if (trimmed.length === 0) continue;
    const fields = trimmed.split(/\s+/);
    if (!sawData && fields.length === 3 && !NUMBER.test(fields[2])) {
      // BEIR header ("query-id corpus-id score"): skip it, only as the first line.
      format = "beir";
      sawData = true;
      continue;
    }
    sawData = true;
    const lineFormat = fields.length === 3 ? "beir" : fields.length === 4 ? "trec" : undefined;
    if (lineFormat === undefined) {
      throw new InvalidInputError(
        `${path}:${lineNumber}: expected 3 fields (query-id corpus-id score) or 4 fields (qid iter docid grade), got ${fields.length}`,
        { file: path, line: lineNumber },
      );
    }
    format ??= lineFormat;
    if (lineFormat !== format) {
      throw new InvalidInputError(
        `${path}:${lineNumber}: ${fields.length} fields, but the file started in ${format === "beir" ? "BEIR (3-field)" : "TREC (4-field)"} format`,
        { file: path, line: lineNumber },
      );
    }
    const [qid, docId, grade] = format === "beir" ? [fields[0], fields[1], fields[2]] : [fields[0], fields[2], fields[3]];
    const value = parseGrade(grade);
    if (value === undefined) {
      throw new InvalidInputError(`${path}:${lineNumber}: relevance grade must be an integer, got "${grade}"`, {
        file: path,
        line: lineNumber,
        field: "grade",
      });
    }
    let judged = qrels.get(qid);
    if (judged === undefined) {
      judged = new Map();
      qrels.set(qid, judged);
      firstLine.set(qid, lineNumber);
    }
    if (judged.has(docId)) {
      throw new InvalidInputError(`${path}:${lineNumber}: duplicate judgment for query "${qid}" document "${docId}"`, {
        file: path,
        line: lineNumber,
      });
    }
    judged.set(docId, value);
  }
  if (qrels.size === 0) {
    throw new InvalidInputError(`${path}: qrels file has no judgments`, { file: path });
  }
  return { qrels, firstLine, format: format ?? "beir" };
}

/** Reads a BEIR TSV (with or without header) or TREC qrels file; the format is auto-detected. */
export async function readQrels(path: string): Promise<Qrels> {
  return (await readQrelsWithLines(path)).qrels;
}
