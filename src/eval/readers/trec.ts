import { writeStreamAtomic } from "../../core/atomic-file.js";
import { InvalidInputError } from "../../core/errors.js";
import { trecOrder, type Run, type RunEntry } from "../run.js";
import { readLines, requirePath } from "./line-reader.js";

// TREC qrels are read by the shared auto-detecting reader; re-exported so TREC users find it here.
export { readQrels, type Qrels } from "./qrels.js";

/**
 * Reads a TREC run file (`qid Q0 docid rank score tag`, whitespace-separated). As in
 * trec_eval, the rank column is ignored (ranking is by score), fields after the tag
 * are ignored, and blank lines and lines starting with `#` are skipped. A bad score
 * or a document listed twice for one query is an error naming the line.
 */
export async function readRun(path: string): Promise<Run> {
  await requirePath(path, "file", "run file");
  const run: Run = new Map();
  const seen = new Map<string, Set<string>>();
  for await (const { line, lineNumber } of readLines(path)) {
    const trimmed = line.trim();
    if (trimmed.length === 0 || trimmed.startsWith("#")) continue;
    const fields = trimmed.split(/\s+/);
    if (fields.length < 6) {
      throw new InvalidInputError(`${path}:${lineNumber}: expected 6 fields (qid Q0 docid rank score tag), got ${fields.length}`, {
        file: path,
        line: lineNumber,
      });
    }
    const [qid, , docId, , scoreText] = fields;
    const score = Number(scoreText);
    if (!Number.isFinite(score)) {
      throw new InvalidInputError(`${path}:${lineNumber}: score must be a finite number, got "${scoreText}"`, {
        file: path,
        line: lineNumber,
        field: "score",
      });
    }
    let entries = run.get(qid);
    let ids = seen.get(qid);
    if (entries === undefined || ids === undefined) {
      entries = [];
      ids = new Set();
      run.set(qid, entries);
      seen.set(qid, ids);
    }
    if (ids.has(docId)) {
      // trec_eval stops with "duplicate docs" here; so do we, but naming the line.
      throw new InvalidInputError(`${path}:${lineNumber}: document "${docId}" listed twice for query "${qid}"`, {
        file: path,
        line: lineNumber,
      });
    }
    ids.add(docId);
    entries.push({ docId, score });
  }
  if (run.size === 0) throw new InvalidInputError(`${path}: run file has no results`, { file: path });
  return run;
}

const NO_SPACE = /^\S+$/;

export interface WriteRunOptions {
  /** The run tag (last column); default "winnow". */
  tag?: string;
}

/**
 * Writes a run in TREC format, each query's documents in trec_eval order with ranks
 * 1..n, so the rank column agrees with how trec_eval will read the file. The file is
 * written to a temporary sibling and renamed into place: readers never see half a run.
 */
export async function writeRun(path: string, run: ReadonlyMap<string, readonly RunEntry[]>, options: WriteRunOptions = {}): Promise<void> {
  const tag = options.tag ?? "winnow";
  if (!NO_SPACE.test(tag)) throw new InvalidInputError(`run tag must be one word without spaces, got "${tag}"`, { field: "tag" });
  for (const [qid, entries] of run) {
    if (!NO_SPACE.test(qid)) throw new InvalidInputError(`query id "${qid}" cannot be written to a TREC run (empty or has spaces)`, { field: "qid" });
    for (const e of entries) {
      if (!NO_SPACE.test(e.docId)) {
        throw new InvalidInputError(`document id "${e.docId}" of query "${qid}" cannot be written to a TREC run (empty or has spaces)`, {
          field: "docId",
        });
      }
      if (!Number.isFinite(e.score)) {
        throw new InvalidInputError(`document "${e.docId}" of query "${qid}" has a non-finite score`, { field: "score" });
      }
    }
  }
  await writeStreamAtomic(path, async (write) => {
    for (const [qid, entries] of run) {
      // String(score) is the shortest text that parses back to the same double, so ties and order survive the round trip.
      await write(trecOrder(entries).map((e, i) => `${qid} Q0 ${e.docId} ${i + 1} ${String(e.score)} ${tag}\n`).join(""));
    }
  });
}
