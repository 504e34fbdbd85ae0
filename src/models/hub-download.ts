import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { WinnowError } from "../core/errors.js";
import { COMMIT_HASH, repoFolderName } from "./hub-cache.js";

/**
 * Downloads one file of a hub model repo into the hub cache layout, the way
 * `huggingface_hub` does: a metadata request (not following cross-host redirects)
 * gives the commit (`X-Repo-Commit`) and content id (`X-Linked-Etag` for LFS files,
 * else `ETag`); the content is stored once under `blobs/<etag>` (written to a temp
 * file, verified, renamed) and linked from `snapshots/<commit>/<file>`;
 * `refs/<revision>` records which commit a branch name meant.
 */

export interface HubFileRequest {
  cacheRoot: string;
  endpoint: string;
  repoId: string;
  revision: string;
  file: string;
  token?: string;
  signal?: AbortSignal;
}

export interface HubFileResult {
  path: string;
  commit: string;
  etag: string;
  downloaded: boolean;
}

const MAX_REDIRECTS = 5;

function fileUrl(endpoint: string, repoId: string, revision: string, file: string): string {
  const path = file.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${path}`;
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function normalizeEtag(raw: string | null): string | undefined {
  if (!raw) return undefined;
  return raw.replace(/^W\//, "").replace(/^"|"$/g, "");
}

async function request(url: string, init: RequestInit, what: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if ((err as Error).name === "AbortError") throw new WinnowError("ABORTED", `download of ${what} aborted`, { cause: err });
    throw new WinnowError("UPSTREAM_ERROR", `cannot reach ${url}: ${(err as Error).message} (set HF_ENDPOINT for a mirror, or use the cache only with --offline or HF_HUB_OFFLINE=1)`, {
      details: { url },
      cause: err,
    });
  }
}

/** Metadata for a file: follows same-host redirects (renamed repos), stops at cross-host ones (the CDN). */
async function fileMetadata(req: HubFileRequest): Promise<{ status: number; commit?: string; etag?: string; url: string }> {
  let url = fileUrl(req.endpoint, req.repoId, req.revision, req.file);
  const what = `${req.repoId}/${req.file}`;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await request(url, { method: "HEAD", redirect: "manual", headers: { ...authHeaders(req.token), "accept-encoding": "identity" }, signal: req.signal }, what);
    const commit = res.headers.get("x-repo-commit") ?? undefined;
    const etag = normalizeEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location");
      if (!location) return { status: res.status, commit, etag, url };
      const next = new URL(location, url);
      if (next.origin !== new URL(url).origin) return { status: 200, commit, etag, url }; // CDN: metadata is already here
      url = next.toString();
      continue;
    }
    return { status: res.status, commit, etag, url };
  }
  throw new WinnowError("UPSTREAM_ERROR", `too many redirects fetching ${what}`, { details: { url } });
}

/** Git's blob id (sha1 of "blob <size>\0" + content): the ETag the hub sends for non-LFS files. */
function gitBlobSha1(path: string): string {
  const data = readFileSync(path);
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

function writeAtomically(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Links snapshots/<commit>/<file> to the blob (relative symlink, as the hub cache does; a copy where links are not allowed). */
function linkIntoSnapshot(blob: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    symlinkSync(relative(dirname(target), blob), tmp);
  } catch {
    copyFileSync(blob, tmp);
  }
  renameSync(tmp, target);
}

/**
 * Fetches one file into the cache. Returns undefined when the repo has no such file
 * (HTTP 404) so callers can treat optional files as optional.
 */
export async function downloadHubFile(req: HubFileRequest): Promise<HubFileResult | undefined> {
  const what = `${req.repoId}/${req.file}@${req.revision}`;
  const meta = await fileMetadata(req);
  if (meta.status === 404) return undefined;
  if (meta.status === 401 || meta.status === 403) {
    throw new WinnowError("MODEL_NOT_FOUND", `${what}: the hub refused access (HTTP ${meta.status}); for gated or private models set HF_TOKEN`, {
      details: { repo: req.repoId, file: req.file, status: meta.status },
    });
  }
  if (meta.status < 200 || meta.status >= 300) {
    throw new WinnowError("UPSTREAM_ERROR", `${what}: hub answered HTTP ${meta.status}`, { details: { url: meta.url, status: meta.status } });
  }
  const commit = meta.commit ?? (COMMIT_HASH.test(req.revision) ? req.revision : undefined);
  if (!commit || !COMMIT_HASH.test(commit)) {
    throw new WinnowError("UPSTREAM_ERROR", `${what}: the endpoint sent no X-Repo-Commit header, so the file cannot be placed in the hub cache`, {
      details: { url: meta.url },
    });
  }
  if (!meta.etag || !/^[\w.-]+$/.test(meta.etag)) {
    throw new WinnowError("UPSTREAM_ERROR", `${what}: the endpoint sent no usable ETag`, { details: { url: meta.url } });
  }
  const repoDir = join(req.cacheRoot, repoFolderName(req.repoId));
  const blob = join(repoDir, "blobs", meta.etag);
  const target = join(repoDir, "snapshots", commit, req.file);
  let downloaded = false;
  if (!existsSync(blob)) {
    await downloadBlob(meta.url, blob, meta.etag, req, what);
    downloaded = true;
  }
  linkIntoSnapshot(blob, target);
  if (!COMMIT_HASH.test(req.revision)) writeAtomically(join(repoDir, "refs", req.revision), commit);
  return { path: target, commit, etag: meta.etag, downloaded };
}

async function downloadBlob(url: string, blob: string, etag: string, req: HubFileRequest, what: string): Promise<void> {
  const res = await request(url, { headers: { ...authHeaders(req.token), "accept-encoding": "identity" }, signal: req.signal }, what);
  if (!res.ok || !res.body) {
    throw new WinnowError("UPSTREAM_ERROR", `${what}: download failed with HTTP ${res.status}`, { details: { url, status: res.status } });
  }
  mkdirSync(dirname(blob), { recursive: true });
  const tmp = `${blob}.incomplete-${process.pid}-${randomBytes(4).toString("hex")}`;
  const sha256 = createHash("sha256");
  const out = createWriteStream(tmp);
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      sha256.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", resolve));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    // LFS files are named by their sha256, small files by their git blob sha1: check whichever applies.
    const ok = /^[0-9a-f]{64}$/.test(etag) ? sha256.digest("hex") === etag : /^[0-9a-f]{40}$/.test(etag) ? gitBlobSha1(tmp) === etag : true;
    if (!ok) throw new WinnowError("UPSTREAM_ERROR", `${what}: downloaded content does not match its ETag ${etag} (truncated or corrupted transfer)`, { details: { url } });
    renameSync(tmp, blob);
  } catch (err) {
    out.destroy();
    rmSync(tmp, { force: true });
    if ((err as Error).name === "AbortError") throw new WinnowError("ABORTED", `download of ${what} aborted`, { cause: err });
    throw err;
  }
}
