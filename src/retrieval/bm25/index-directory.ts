import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { InvalidInputError, WinnowError } from "../../core/errors.js";

/**
 * On-disk layout of a Winnow index directory, shared by any index kind:
 *
 *   <dir>/manifest.json        { format, version, segment, files: {name: {bytes, sha256}}, ... }
 *   <dir>/seg-<id>/<files>     the data the manifest points at
 *
 * Saving writes a fresh segment folder (fsynced), then replaces manifest.json by an
 * atomic rename, then removes older segments. A crash at any point leaves either
 * the old manifest with its intact segment or the new one; stray `.tmp-*` and
 * unreferenced `seg-*` folders are ignored on load and removed by the next save.
 */
export const MANIFEST_FILE = "manifest.json";

export interface FileEntry {
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: string;
  version: number;
  segment: string;
  files: Record<string, FileEntry>;
  [key: string]: unknown;
}

export interface WriteIndexOptions {
  /** Test seam for crash safety: runs after the segment is on disk, before the manifest swap. */
  beforeCommit?: () => void | Promise<void>;
}

const OWN_ENTRY = /^(seg-[a-z0-9-]+|\.tmp-[a-z0-9-]+|manifest\.json(\.tmp-[a-z0-9-]+)?)$/;

async function writeFileDurably(path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  // Directory fsync makes the renames durable; some filesystems refuse it, which is harmless here.
  try {
    const fh = await open(path, fsConstants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Writes `files` as a new segment of the index at `dir` and atomically makes it current. */
export async function writeIndexDirectory(
  dir: string,
  header: { format: string; version: number } & Record<string, unknown>,
  files: Record<string, Uint8Array | string>,
  options: WriteIndexOptions = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const foreign = (await readdir(dir)).filter((name) => !OWN_ENTRY.test(name));
  if (foreign.length > 0) {
    throw new InvalidInputError(
      `${dir} is not empty and is not a Winnow index (found ${foreign.slice(0, 3).join(", ")}); pick an empty or new folder`,
      { field: "dir", path: dir },
    );
  }
  const id = `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const segment = `seg-${id}`;
  const tmp = join(dir, `.tmp-${id}`);
  await mkdir(tmp);
  const entries: Record<string, FileEntry> = {};
  for (const [name, data] of Object.entries(files)) {
    await writeFileDurably(join(tmp, name), data);
    entries[name] = { bytes: typeof data === "string" ? Buffer.byteLength(data) : data.byteLength, sha256: sha256(data) };
  }
  await syncDirectory(tmp);
  await rename(tmp, join(dir, segment));
  await syncDirectory(dir);
  await options.beforeCommit?.();

  const manifest: Manifest = { ...header, segment, files: entries };
  const manifestTmp = join(dir, `${MANIFEST_FILE}.tmp-${id}`);
  await writeFileDurably(manifestTmp, JSON.stringify(manifest, null, 2) + "\n");
  await rename(manifestTmp, join(dir, MANIFEST_FILE));
  await syncDirectory(dir);

  for (const name of await readdir(dir)) {
    if (name !== segment && name !== MANIFEST_FILE && OWN_ENTRY.test(name)) {
      await rm(join(dir, name), { recursive: true, force: true });
    }
  }
}

function corrupt(dir: string, message: string, cause?: unknown): WinnowError {
  return new WinnowError("INDEX_CORRUPT", `index at ${dir} is corrupt: ${message}; rebuild it with \`winnow index\``, {
    details: { path: dir },
    cause,
  });
}

/**
 * Reads the current manifest of the index at `dir` and every file it lists, verifying
 * sizes and checksums. Errors: NOT_FOUND (no such folder), INDEX_CORRUPT (missing or
 * damaged manifest or data), INDEX_VERSION_MISMATCH (another format version).
 */
export async function readIndexDirectory(
  dir: string,
  expected: { format: string; version: number },
): Promise<{ manifest: Manifest; files: Map<string, Buffer> }> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new WinnowError("NOT_FOUND", `index path ${dir} is not a folder`, { details: { path: dir } });
  } catch (err) {
    if (err instanceof WinnowError) throw err;
    throw new WinnowError("NOT_FOUND", `no index at ${dir} (folder does not exist)`, { details: { path: dir }, cause: err });
  }
  let raw: string;
  try {
    raw = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch (err) {
    throw corrupt(dir, `${MANIFEST_FILE} is missing`, err);
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(raw) as Manifest;
  } catch (err) {
    throw corrupt(dir, `${MANIFEST_FILE} is not valid JSON`, err);
  }
  if (manifest === null || typeof manifest !== "object" || manifest.format !== expected.format) {
    throw corrupt(dir, `${MANIFEST_FILE} does not describe a ${expected.format} index`);
  }
  if (manifest.version !== expected.version) {
    throw new WinnowError(
      "INDEX_VERSION_MISMATCH",
      `index at ${dir} has ${expected.format} format version ${String(manifest.version)}, this Winnow reads version ${expected.version}; rebuild it with \`winnow index\``,
      { details: { path: dir, found: manifest.version, expected: expected.version } },
    );
  }
  if (typeof manifest.segment !== "string" || !/^seg-[a-z0-9-]+$/.test(manifest.segment) || typeof manifest.files !== "object" || manifest.files === null) {
    throw corrupt(dir, `${MANIFEST_FILE} lacks its segment or file list`);
  }
  const files = new Map<string, Buffer>();
  for (const [name, entry] of Object.entries(manifest.files)) {
    const path = join(dir, manifest.segment, name);
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      throw corrupt(dir, `${manifest.segment}/${name} is missing`, err);
    }
    if (data.byteLength !== entry?.bytes || sha256(data) !== entry.sha256) {
      throw corrupt(dir, `${manifest.segment}/${name} does not match its checksum`);
    }
    files.set(name, data);
  }
  return { manifest, files };
}

/** Copies a file's bytes into an aligned typed array (Buffers may be unaligned slices of a pool). */
export function toUint32Array(dir: string, name: string, data: Buffer | undefined): Uint32Array {
  if (data === undefined || data.byteLength % 4 !== 0) throw corrupt(dir, `${name} is missing or truncated`);
  const out = new Uint32Array(data.byteLength / 4);
  new Uint8Array(out.buffer).set(data);
  return out;
}

export function toUint8Array(dir: string, name: string, data: Buffer | undefined): Uint8Array {
  if (data === undefined) throw corrupt(dir, `${name} is missing`);
  return new Uint8Array(data);
}

export function indexCorrupt(dir: string, message: string, cause?: unknown): WinnowError {
  return corrupt(dir, message, cause);
}

/** Bytes of a typed array as stored on disk (little-endian, as every supported platform is). */
export function bytesOf(array: Uint32Array | Uint8Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}
