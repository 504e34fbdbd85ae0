import { isUtf8 } from "node:buffer";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { InvalidInputError, WinnowError } from "../../core/errors.js";

/**
 * Fails with NOT_FOUND naming the path when `path` is missing or not the expected
 * kind, so readers never surface a raw ENOENT from deep inside a stream.
 */
export async function requirePath(path: string, kind: "file" | "directory", what: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new WinnowError("NOT_FOUND", `${what} not found: ${path}`, { details: { path } });
  }
  const ok = kind === "file" ? info.isFile() : info.isDirectory();
  if (!ok) {
    throw new WinnowError("INVALID_INPUT", `${what} must be a ${kind}: ${path}`, { details: { path } });
  }
}

export interface ReadLinesOptions {
  /** What error messages call the input (default: the path, or "<stream>" for a stream). */
  name?: string;
}

const LF = 0x0a;
const CR = 0x0d;
const LINE_BREAK = /\r\n|\n|\r/;

/**
 * End of the last complete line in `buf` (index of its break byte), or -1. A CR as the
 * very last byte may be the first half of a CRLF split across chunks, so it waits.
 */
function lastLineBreak(buf: Buffer): number {
  const lf = buf.lastIndexOf(LF);
  const cr = buf.length > 1 ? buf.lastIndexOf(CR, buf.length - 2) : -1;
  return Math.max(lf, cr);
}

/** Byte lines of a region (the same breaks as LINE_BREAK), to find which line holds bad bytes. */
function* byteLines(region: Buffer): Generator<Buffer> {
  let start = 0;
  for (let i = 0; i < region.length; i++) {
    const b = region[i];
    if (b !== LF && b !== CR) continue;
    yield region.subarray(start, i);
    if (b === CR && region[i + 1] === LF) i++;
    start = i + 1;
  }
  if (start < region.length) yield region.subarray(start);
}

function invalidUtf8(name: string, region: Buffer, firstLine: number): InvalidInputError {
  let n = firstLine;
  for (const line of byteLines(region)) {
    if (!isUtf8(line)) break;
    n++;
  }
  return new InvalidInputError(`${name}:${n}: not valid UTF-8 (re-encode the file as UTF-8, e.g. \`iconv -f latin1 -t utf-8\`)`, {
    file: name,
    line: n,
    field: "encoding",
  });
}

/** A UTF-8 byte-order mark on line 1 is not part of the data. */
function withoutBom(line: string): string {
  return line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
}

/**
 * Streams a text file (or stream) line by line with 1-based line numbers, in constant
 * memory for large corpora. Lines end at LF, CRLF or CR, as readline splits them. Bytes
 * that are not UTF-8 are an INVALID_INPUT error naming the file and line, never
 * silently turned into U+FFFD: each chunk's complete lines are checked with the native
 * `isUtf8` before decoding, which costs far less than the JSON parsing that follows.
 */
export async function* readLines(source: string | Readable, options: ReadLinesOptions = {}): AsyncGenerator<{ line: string; lineNumber: number }> {
  const name = options.name ?? (typeof source === "string" ? source : "<stream>");
  const input = typeof source === "string" ? createReadStream(source) : source;
  // Bytes after the last line break seen so far (a line longer than one chunk spans several).
  const pending: Buffer[] = [];
  let lineNumber = 0;
  /** Decoded lines of a region; one that ends with a break splits into one empty string past it, dropped. */
  const decode = (region: Buffer, complete: boolean): string[] => {
    if (!isUtf8(region)) throw invalidUtf8(name, region, lineNumber + 1);
    const text = region.toString("utf8");
    const lines = region.indexOf(CR) < 0 ? text.split("\n") : text.split(LINE_BREAK);
    if (complete) lines.pop();
    return lines;
  };
  try {
    for await (const chunk of input) {
      const buf: Buffer = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer);
      const cut = lastLineBreak(buf);
      if (cut < 0) {
        pending.push(buf);
        continue;
      }
      const head = buf.subarray(0, cut + 1);
      const region = pending.length > 0 ? Buffer.concat([...pending, head]) : head;
      pending.length = 0;
      if (cut + 1 < buf.length) pending.push(buf.subarray(cut + 1));
      for (const line of decode(region, true)) yield { line: ++lineNumber === 1 ? withoutBom(line) : line, lineNumber };
    }
    if (pending.length > 0) {
      const rest = Buffer.concat(pending);
      // A file ending in a lone CR: that CR ends the last line.
      for (const line of decode(rest, rest[rest.length - 1] === CR)) yield { line: ++lineNumber === 1 ? withoutBom(line) : line, lineNumber };
    }
  } finally {
    if (typeof source === "string") input.destroy();
  }
}
