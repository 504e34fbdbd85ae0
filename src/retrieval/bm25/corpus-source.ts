import { createReadStream, openSync, readSync, closeSync, statSync } from "node:fs";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { InvalidInputError } from "../../core/errors.js";
import type { Document } from "../../core/types.js";

/**
 * Streams a corpus for `winnow index` in bounded memory: a BEIR folder (corpus.jsonl or
 * corpus.jsonl.gz), a JSONL file, a gzip JSONL file (by its magic bytes), or a TREC file
 * (<DOC><DOCNO>…</DOCNO>…</DOC>, recognised by a leading "<"). JSONL lines are handed
 * on raw, with their line numbers and byte ranges, so parsing can happen in the
 * analysis workers and `--store-text source` can point back into the file.
 */
export type CorpusFormat = "jsonl" | "jsonl.gz" | "trec";

export interface CorpusFile {
  path: string;
  format: CorpusFormat;
}

/** A run of consecutive records. `lines` are JSON lines (jsonl) or ready documents (trec). */
export interface CorpusChunk {
  firstLine: number;
  lines: string[];
  /** Byte offset of each line in the uncompressed file (jsonl only). */
  offsets?: number[];
  docs?: Document[];
  /** Record numbers of docs (trec). */
  docLines?: number[];
}

function exists(path: string): "file" | "dir" | undefined {
  try {
    const s = statSync(path);
    return s.isDirectory() ? "dir" : s.isFile() ? "file" : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves a --dataset/--corpus path to a corpus file and its format. */
export function resolveCorpus(path: string): CorpusFile {
  const kind = exists(path);
  if (kind === undefined) throw new InvalidInputError(`corpus ${path} does not exist`, { field: "corpus", path });
  let file = path;
  if (kind === "dir") {
    const candidates = ["corpus.jsonl", "corpus.jsonl.gz"].map((n) => join(path, n));
    const found = candidates.find((c) => exists(c) === "file");
    if (!found) throw new InvalidInputError(`${path} has no corpus.jsonl or corpus.jsonl.gz`, { field: "corpus", path });
    file = found;
  }
  const fd = openSync(file, "r");
  const head = Buffer.alloc(64);
  const n = readSync(fd, head, 0, 64, 0);
  closeSync(fd);
  if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return { path: file, format: "jsonl.gz" };
  const first = head.subarray(0, n).toString("utf8").trimStart();
  return { path: file, format: first.startsWith("<") ? "trec" : "jsonl" };
}

/** Raw lines in chunks of about `chunkBytes`, with byte offsets (of the uncompressed stream). */
async function* lineChunks(file: CorpusFile, chunkBytes: number): AsyncGenerator<CorpusChunk> {
  const stream = file.format === "jsonl.gz" ? createReadStream(file.path).pipe(createGunzip()) : createReadStream(file.path, { highWaterMark: 1 << 20 });
  let carry: Buffer | undefined;
  let carryOffset = 0;
  let lineNo = 0;
  let lines: string[] = [];
  let offsets: number[] = [];
  let bytes = 0;
  let firstLine = 1;
  let base = 0;
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      const buf = carry ? Buffer.concat([carry, piece]) : piece;
      const bufStart = carry ? carryOffset : base;
      base += piece.length;
      let pos = 0;
      for (;;) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break;
        lineNo++;
        let end = nl;
        if (end > pos && buf[end - 1] === 13) end--;
        lines.push(buf.toString("utf8", pos, end));
        offsets.push(bufStart + pos);
        bytes += nl - pos;
        pos = nl + 1;
        if (bytes >= chunkBytes) {
          yield { firstLine, lines, offsets };
          firstLine = lineNo + 1;
          lines = [];
          offsets = [];
          bytes = 0;
        }
      }
      carry = pos < buf.length ? buf.subarray(pos) : undefined;
      carryOffset = bufStart + pos;
    }
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError(`${file.path}: cannot be read (${(err as Error).message})`, { field: "corpus", path: file.path });
  }
  if (carry && carry.length > 0) {
    lineNo++;
    lines.push(carry.toString("utf8"));
    offsets.push(carryOffset);
  }
  if (lines.length > 0) yield { firstLine, lines, offsets };
}

const TAG = /<\/?[A-Za-z][^>]*>/g;
function tagContent(block: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "i").exec(block);
  return m ? m[1].trim() : undefined;
}

/** TREC SGML documents: DOCNO is the id, TITLE/HEAD the title, TEXT the text (or the whole body without tags). */
async function* trecChunks(file: CorpusFile, chunkDocs: number): AsyncGenerator<CorpusChunk> {
  let pending = "";
  let record = 0;
  let docs: Document[] = [];
  let docLines: number[] = [];
  for await (const chunk of lineChunks({ path: file.path, format: "jsonl" }, 1 << 20)) {
    pending += chunk.lines.join("\n") + "\n";
    for (;;) {
      const start = pending.indexOf("<DOC>");
      const end = pending.indexOf("</DOC>");
      if (start < 0 || end < 0) break;
      const block = pending.slice(start + 5, end);
      pending = pending.slice(end + 6);
      record++;
      const id = tagContent(block, "DOCNO");
      if (!id) throw new InvalidInputError(`${file.path}: TREC document ${record} has no <DOCNO>`, { field: "DOCNO", record });
      const title = tagContent(block, "TITLE") ?? tagContent(block, "HEAD");
      const texts = [...block.matchAll(/<TEXT>([\s\S]*?)<\/TEXT>/gi)].map((m) => m[1]);
      const body = texts.length > 0 ? texts.join("\n") : block.replace(/<DOCNO>[\s\S]*?<\/DOCNO>/i, "").replace(/<(TITLE|HEAD)>[\s\S]*?<\/\1>/i, "");
      const doc: Document = { id, text: body.replace(TAG, " ").trim() };
      if (title) doc.title = title.replace(TAG, " ").trim();
      docs.push(doc);
      docLines.push(record);
      if (docs.length >= chunkDocs) {
        yield { firstLine: docLines[0], lines: [], docs, docLines };
        docs = [];
        docLines = [];
      }
    }
  }
  if (docs.length > 0) yield { firstLine: docLines[0], lines: [], docs, docLines };
}

/** The corpus as chunks (about 1 MiB of JSONL, or 512 TREC documents). */
export function readCorpusChunks(file: CorpusFile): AsyncGenerator<CorpusChunk> {
  return file.format === "trec" ? trecChunks(file, 512) : lineChunks(file, 1 << 20);
}

/**
 * One JSONL record as a Document: `_id` (string, or a number as some exports write),
 * `text`, optional `title`, the other fields as metadata. Errors name file and line.
 * Returns undefined for a blank line.
 */
export function documentOfLine(file: string, lineNumber: number, line: string): Document | undefined {
  if (line.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new InvalidInputError(`${file}:${lineNumber}: not valid JSON (${(err as Error).message})`, { file, line: lineNumber });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidInputError(`${file}:${lineNumber}: expected a JSON object`, { file, line: lineNumber });
  }
  const record = value as Record<string, unknown>;
  const rawId = record._id;
  const id = typeof rawId === "string" ? rawId : typeof rawId === "number" && Number.isFinite(rawId) ? String(rawId) : undefined;
  if (id === undefined || id.length === 0) {
    throw new InvalidInputError(`${file}:${lineNumber}: "_id" ${rawId === undefined ? "is missing" : "must be a non-empty string"}`, { file, line: lineNumber, field: "_id" });
  }
  const { _id, title, text, ...rest } = record;
  if (typeof text !== "string") throw new InvalidInputError(`${file}:${lineNumber}: "text" must be a string`, { file, line: lineNumber, field: "text" });
  if (title !== undefined && title !== null && typeof title !== "string") {
    throw new InvalidInputError(`${file}:${lineNumber}: "title" must be a string`, { file, line: lineNumber, field: "title" });
  }
  const doc: Document = { id, text };
  if (typeof title === "string" && title.length > 0) doc.title = title;
  if (Object.keys(rest).length > 0) doc.metadata = rest;
  return doc;
}
