import { createHash, randomBytes } from "node:crypto";
import { closeSync, constants as fsConstants, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { InvalidInputError, WinnowError } from "../../core/errors.js";
import type { SegmentInfo } from "./segment/segment-writer.js";

/**
 * The folder of a segmented BM25 index (format version 3):
 *
 *   <dir>/manifest.json          the current commit: segments, deletion files, statistics
 *   <dir>/seg-<id>/              one immutable segment (segment/segment-files.ts)
 *   <dir>/seg-<id>.del-<gen>     deletion marks of a segment as of commit <gen>
 *
 * Every commit (build, append, delete, merge) writes its new segments under `.tmp-<id>`,
 * renames them to `seg-<id>`, writes its deletion files, and only then replaces
 * manifest.json by an atomic rename. A crash at any point leaves the previous manifest,
 * whose segments and deletion files are never modified, so the previous index is intact;
 * leftovers are removed by the next commit. The manifest carries a SHA-256 of its own
 * canonical JSON and a CRC-32 and size of every file it names.
 */
export const MANIFEST_FILE = "manifest.json";
export const BM25_FORMAT = "winnow-bm25";
export const BM25_SEGMENTED_VERSION = 3;

export interface DeletesEntry {
  file: string;
  /** Deleted documents of the segment. */
  count: number;
  bytes: number;
  crc32: number;
}

export interface SegmentEntry extends SegmentInfo {
  deletes?: DeletesEntry;
}

export interface SegmentedManifest {
  format: string;
  version: number;
  analyzer: string;
  params: { k1: number; b: number };
  storeText: string;
  /** Corpus files that `storeText: "source"` records point into (a record names its file by index). */
  sources?: string[];
  generation: number;
  segments: SegmentEntry[];
  /** Blank documents skipped by every build and append so far. */
  skippedBlank: number;
  /** Distinct terms: exact for one segment without deletions, else the sum over segments (an upper bound). */
  vocabulary: number;
  [key: string]: unknown;
}

const OWN_ENTRY = /^(seg-[a-z0-9-]+(\.del-\d+)?|\.tmp-[a-z0-9-]+|manifest\.json(\.tmp-[a-z0-9-]+)?)$/;
const MANIFEST_CHECKSUM = "manifestSha256";

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

function manifestChecksum(manifest: Record<string, unknown>): string {
  const { [MANIFEST_CHECKSUM]: _own, ...rest } = manifest;
  return createHash("sha256").update(canonicalJson(rest)).digest("hex");
}

export function segmentCorrupt(dir: string, message: string, cause?: unknown): WinnowError {
  return new WinnowError("INDEX_CORRUPT", `index at ${dir} is corrupt: ${message}; rebuild it with \`winnow index\``, { details: { path: dir }, cause });
}

/** A new unique name for a segment or temp folder. */
export function newSegmentId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

/**
 * Creates `dir` if needed and refuses a path that is a file, a non-empty folder that is
 * not an index, or an index folder holding other files (they would go out of date).
 */
export function prepareIndexFolder(dir: string): void {
  let info;
  try {
    info = statSync(dir);
  } catch {
    info = undefined;
  }
  if (info && !info.isDirectory()) {
    throw new InvalidInputError(`${dir} exists and is not a folder; an index is a folder: pass a new path, or an existing index folder to replace it`, { field: "dir", path: dir });
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidInputError(`cannot create the index folder ${dir} (${code ?? (err as Error).message})`, { field: "dir", path: dir });
  }
  const entries = readdirSync(dir);
  const foreign = entries.filter((name) => !OWN_ENTRY.test(name));
  if (foreign.length > 0) {
    const found = foreign.slice(0, 3).join(", ");
    throw new InvalidInputError(
      entries.includes(MANIFEST_FILE)
        ? `${dir} is an index folder that also holds other files (${found}); saving would leave them out of date: move or delete them, or pick a new folder`
        : `${dir} is not empty and is not a Winnow index (found ${found}); pick an empty or new folder`,
      { field: "dir", path: dir },
    );
  }
}

export function syncDirectory(path: string): void {
  try {
    const fd = openSync(path, fsConstants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some filesystems refuse directory fsync; harmless */
  }
}

function writeDurably(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, "w", 0o644);
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Renames a finished temp segment folder to its segment name (durably). */
export function publishSegment(dir: string, tempName: string, segmentName: string): void {
  syncDirectory(join(dir, tempName));
  renameSync(join(dir, tempName), join(dir, segmentName));
  syncDirectory(dir);
}

/** Writes a deletion file: a bitmap of the segment's deleted documents (1 bit per document). */
export function writeDeletes(dir: string, segment: string, generation: number, deleted: Uint8Array): DeletesEntry {
  const bits = new Uint8Array(Math.ceil(deleted.length / 8));
  let count = 0;
  for (let d = 0; d < deleted.length; d++) {
    if (deleted[d]) {
      bits[d >> 3] |= 1 << (d & 7);
      count++;
    }
  }
  const file = `${segment}.del-${generation}`;
  writeDurably(join(dir, file), bits);
  return { file, count, bytes: bits.length, crc32: crc32(bits) };
}

/** A segment's deleted-document flags (one byte per document) from its deletion file. */
export function readDeletes(dir: string, entry: DeletesEntry, maxDoc: number): Uint8Array {
  let bits: Buffer;
  try {
    bits = readFileSync(join(dir, entry.file));
  } catch (err) {
    throw segmentCorrupt(dir, `${entry.file} is missing`, err);
  }
  if (bits.length !== entry.bytes || crc32(bits) !== entry.crc32 || bits.length !== Math.ceil(maxDoc / 8)) throw segmentCorrupt(dir, `${entry.file} does not match its checksum`);
  const out = new Uint8Array(maxDoc);
  let count = 0;
  for (let d = 0; d < maxDoc; d++) if (bits[d >> 3] & (1 << (d & 7))) (out[d] = 1), count++;
  if (count !== entry.count) throw segmentCorrupt(dir, `${entry.file} marks ${count} documents, the manifest says ${entry.count}`);
  return out;
}

export interface CommitOptions {
  /** Test seam for crash safety: runs after new segments and deletion files are on disk, before the manifest swap. */
  beforeCommit?: () => void | Promise<void>;
}

/** Makes `manifest` current by an atomic rename, then removes what no longer belongs to it. */
export async function commitManifest(dir: string, manifest: SegmentedManifest, options: CommitOptions = {}): Promise<void> {
  syncDirectory(dir);
  await options.beforeCommit?.();
  const { [MANIFEST_CHECKSUM]: _old, ...body } = manifest as Record<string, unknown>;
  const full = { ...body, [MANIFEST_CHECKSUM]: manifestChecksum(body) };
  const tmp = join(dir, `${MANIFEST_FILE}.tmp-${newSegmentId()}`);
  writeDurably(tmp, JSON.stringify(full, null, 2) + "\n");
  renameSync(tmp, join(dir, MANIFEST_FILE));
  syncDirectory(dir);
  removeUnreferenced(dir, manifest.segments);
}

/** Removes temp folders, segments and deletion files the given segments don't use. */
export function removeUnreferenced(dir: string, segments: ReadonlyArray<SegmentEntry>, keepTemp?: string): void {
  const keep = new Set<string>([MANIFEST_FILE]);
  for (const s of segments) {
    keep.add(s.name);
    if (s.deletes) keep.add(s.deletes.file);
  }
  if (keepTemp) keep.add(keepTemp);
  for (const name of readdirSync(dir)) {
    if (!keep.has(name) && OWN_ENTRY.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** Reads and checks manifest.json; a version 2 (or other) index is refused with how to rebuild it. */
export function readSegmentedManifest(dir: string): SegmentedManifest {
  try {
    if (!statSync(dir).isDirectory()) throw new WinnowError("NOT_FOUND", `index path ${dir} is not a folder`, { details: { path: dir } });
  } catch (err) {
    if (err instanceof WinnowError) throw err;
    throw new WinnowError("NOT_FOUND", `no index at ${dir} (folder does not exist)`, { details: { path: dir }, cause: err });
  }
  let raw: string;
  try {
    raw = readFileSync(join(dir, MANIFEST_FILE), "utf8");
  } catch (err) {
    throw segmentCorrupt(dir, `${MANIFEST_FILE} is missing`, err);
  }
  let manifest: SegmentedManifest;
  try {
    manifest = JSON.parse(raw) as SegmentedManifest;
  } catch (err) {
    throw segmentCorrupt(dir, `${MANIFEST_FILE} is not valid JSON`, err);
  }
  if (manifest === null || typeof manifest !== "object" || manifest.format !== BM25_FORMAT) throw segmentCorrupt(dir, `${MANIFEST_FILE} does not describe a ${BM25_FORMAT} index`);
  if (manifest.version !== BM25_SEGMENTED_VERSION) {
    throw new WinnowError(
      "INDEX_VERSION_MISMATCH",
      `index at ${dir} has ${BM25_FORMAT} format version ${String(manifest.version)}, this Winnow reads version ${BM25_SEGMENTED_VERSION}; rebuild it with \`winnow index --dataset DIR --out ${dir}\``,
      { details: { path: dir, found: manifest.version, expected: BM25_SEGMENTED_VERSION } },
    );
  }
  if (typeof manifest[MANIFEST_CHECKSUM] !== "string" || manifest[MANIFEST_CHECKSUM] !== manifestChecksum(manifest)) {
    throw segmentCorrupt(dir, `${MANIFEST_FILE} does not match its checksum (${MANIFEST_CHECKSUM}); it was edited or damaged`);
  }
  if (!Array.isArray(manifest.segments)) throw segmentCorrupt(dir, `${MANIFEST_FILE} lacks its segment list`);
  for (const s of manifest.segments) {
    if (s === null || typeof s !== "object" || typeof s.name !== "string" || !/^seg-[a-z0-9-]+$/.test(s.name) || typeof s.files !== "object" || s.files === null) {
      throw segmentCorrupt(dir, `${MANIFEST_FILE} lists a segment that is not a plain seg-* folder`);
    }
    for (const name of Object.keys(s.files)) if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) throw segmentCorrupt(dir, `${MANIFEST_FILE} lists a file "${name}" outside its segment`);
    if (s.deletes !== undefined && (typeof s.deletes.file !== "string" || s.deletes.file !== `${s.name}.del-${s.deletes.file.split(".del-")[1]}`)) {
      throw segmentCorrupt(dir, `${MANIFEST_FILE} lists a deletion file that does not belong to ${s.name}`);
    }
  }
  return manifest;
}
