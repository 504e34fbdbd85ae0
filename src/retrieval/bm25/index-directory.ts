import { createHash, randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { InvalidInputError, WinnowError } from "../../core/errors.js";

/**
 * On-disk layout of a Winnow index directory, shared by any index kind:
 *
 *   <dir>/manifest.json        { format, version, segment, files: {name: {bytes, sha256}}, ..., manifestSha256 }
 *   <dir>/seg-<id>/<files>     the data the manifest points at
 *
 * `manifestSha256` covers every other field of the manifest (canonical JSON, keys
 * sorted), so an edited statistic or parameter is caught like a damaged data file.
 * File names are plain names inside the segment folder; anything else is refused.
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
/** A data file's name: one path component, no leading dot (so never `..` or a path). */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MANIFEST_CHECKSUM = "manifestSha256";

/** JSON with object keys sorted at every level: the bytes the manifest checksum is taken over. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v) ?? "null").join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

function manifestChecksum(manifest: Manifest): string {
  const { [MANIFEST_CHECKSUM]: _own, ...rest } = manifest;
  return sha256(canonicalJson(rest));
}

/**
 * Creates `dir` if needed; an existing path that is not a folder (or a parent that is a
 * file) is refused by name instead of surfacing EEXIST / ENOTDIR. Nothing is removed.
 */
async function ensureIndexFolder(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    info = undefined;
  }
  if (info && !info.isDirectory()) {
    throw new InvalidInputError(`${dir} exists and is not a folder; an index is a folder: pass a new path, or an existing index folder to replace it`, {
      field: "dir",
      path: dir,
    });
  }
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidInputError(`cannot create the index folder ${dir} (${code ?? (err as Error).message})`, { field: "dir", path: dir });
  }
}

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
  await ensureIndexFolder(dir);
  const entries0 = await readdir(dir);
  const foreign = entries0.filter((name) => !OWN_ENTRY.test(name));
  if (foreign.length > 0) {
    const found = foreign.slice(0, 3).join(", ");
    throw new InvalidInputError(
      entries0.includes(MANIFEST_FILE)
        ? `${dir} is an index folder that also holds other files (${found}); saving would leave them out of date: move or delete them, or pick a new folder`
        : `${dir} is not empty and is not a Winnow index (found ${found}); pick an empty or new folder`,
      { field: "dir", path: dir },
    );
  }
  for (const name of Object.keys(files)) {
    if (!FILE_NAME.test(name)) throw new InvalidInputError(`index file name "${name}" must be a plain file name`, { field: "files", name });
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

  const body: Manifest = { ...header, segment, files: entries };
  const manifest: Manifest = { ...body, [MANIFEST_CHECKSUM]: manifestChecksum(body) };
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
 * the manifest's own checksum, then every file's size and checksum. Errors: NOT_FOUND (no
 * such folder), INDEX_CORRUPT (missing, edited or damaged manifest or data),
 * INDEX_VERSION_MISMATCH (another format version, checked first so that an index written
 * by an older Winnow, whose manifest has no checksum, is told to re-index).
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
  if (typeof manifest[MANIFEST_CHECKSUM] !== "string" || manifest[MANIFEST_CHECKSUM] !== manifestChecksum(manifest)) {
    throw corrupt(dir, `${MANIFEST_FILE} does not match its checksum (${MANIFEST_CHECKSUM}); it was edited or damaged`);
  }
  if (typeof manifest.segment !== "string" || !/^seg-[a-z0-9-]+$/.test(manifest.segment) || typeof manifest.files !== "object" || manifest.files === null || Array.isArray(manifest.files)) {
    throw corrupt(dir, `${MANIFEST_FILE} lacks its segment or file list`);
  }
  // The checksum is no signature (anyone can recompute it): names are checked in their own right.
  for (const name of Object.keys(manifest.files)) {
    if (!FILE_NAME.test(name)) throw corrupt(dir, `${MANIFEST_FILE} lists a file "${name}" that is not a plain name inside the segment folder`);
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
    if (entry === null || typeof entry !== "object" || data.byteLength !== entry.bytes || sha256(data) !== entry.sha256) {
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
