import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { WinnowError } from "../../core/errors.js";

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

/** Streams a text file line by line with 1-based line numbers (constant memory for large corpora). */
export async function* readLines(path: string): AsyncGenerator<{ line: string; lineNumber: number }> {
  const input = createReadStream(path, { encoding: "utf8" });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const raw of lines) {
      lineNumber++;
      // A UTF-8 byte-order mark on line 1 is not part of the data.
      const line = lineNumber === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      yield { line, lineNumber };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
