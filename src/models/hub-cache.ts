import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where models live on disk, following the Hugging Face hub cache layout so that a
 * model fetched by Python's `huggingface_hub`, transformers.js or Winnow is found by
 * all of them: `<hub>/models--org--name/{blobs/<etag>, snapshots/<commit>/<file>, refs/<revision>}`.
 * Family-neutral: cross-encoders, dense embedders and anything else resolve through here.
 */

export interface HubCacheEnv {
  HF_HOME?: string;
  HF_HUB_CACHE?: string;
  HF_HUB_OFFLINE?: string;
  HF_ENDPOINT?: string;
  HF_TOKEN?: string;
  WINNOW_CACHE?: string;
  WINNOW_OFFLINE?: string;
}

const envOf = (env?: HubCacheEnv): HubCacheEnv => env ?? (process.env as HubCacheEnv);

/** The hub cache Python and transformers.js use: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function huggingFaceHubCache(env?: HubCacheEnv): string {
  const e = envOf(env);
  if (e.HF_HUB_CACHE) return e.HF_HUB_CACHE;
  const home = e.HF_HOME || join(homedir(), ".cache", "huggingface");
  return join(home, "hub");
}

/**
 * The cache Winnow downloads into: an explicit `cacheDir`, else `$WINNOW_CACHE/hub`,
 * else the Hugging Face hub cache (so downloads are shared with other tools by default).
 */
export function downloadCacheDir(cacheDir?: string, env?: HubCacheEnv): string {
  if (cacheDir) return cacheDir;
  const e = envOf(env);
  if (e.WINNOW_CACHE) return join(e.WINNOW_CACHE, "hub");
  return huggingFaceHubCache(e);
}

/** Every cache looked in, in order, without duplicates: Winnow's first, then the shared HF cache. */
export function lookupCacheDirs(cacheDir?: string, env?: HubCacheEnv): string[] {
  return [...new Set([downloadCacheDir(cacheDir, env), huggingFaceHubCache(env)])];
}

const TRUE_VALUES = new Set(["1", "true", "yes", "on"]);

/** Offline when asked explicitly, or by `HF_HUB_OFFLINE=1` / `WINNOW_OFFLINE=1`. */
export function isOffline(explicit?: boolean, env?: HubCacheEnv): boolean {
  if (explicit !== undefined) return explicit;
  const e = envOf(env);
  return TRUE_VALUES.has((e.HF_HUB_OFFLINE ?? "").toLowerCase()) || TRUE_VALUES.has((e.WINNOW_OFFLINE ?? "").toLowerCase());
}

export function hubEndpoint(env?: HubCacheEnv): string {
  return (envOf(env).HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, "");
}

/** `org/name` → `models--org--name`, the hub cache's folder name for a model repo. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split("/").join("--")}`;
}

export function repoIdFromFolderName(folder: string): string | undefined {
  if (!folder.startsWith("models--")) return undefined;
  return folder.slice("models--".length).split("--").join("/");
}

/** A hub model id as the hub accepts it: `name` or `org/name`, no path tricks. */
export function isHubModelId(s: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(s) && !s.includes("..");
}

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** The snapshot folder for `revision` in one cache, when it has been downloaded (even partly). */
export function findSnapshot(cacheRoot: string, repoId: string, revision: string): { dir: string; commit: string } | undefined {
  const repoDir = join(cacheRoot, repoFolderName(repoId));
  let commit: string | undefined;
  if (COMMIT_HASH.test(revision)) commit = revision;
  else {
    const ref = join(repoDir, "refs", revision);
    if (existsSync(ref)) commit = readFileSync(ref, "utf8").trim();
  }
  if (!commit) return undefined;
  const dir = join(repoDir, "snapshots", commit);
  return existsSync(dir) ? { dir, commit } : undefined;
}

export interface CachedModel {
  repoId: string;
  cacheRoot: string;
  /** Revision names (refs) pointing at snapshots, e.g. `main`. */
  refs: Record<string, string>;
  snapshots: Array<{ commit: string; files: string[]; bytes: number }>;
}

/** Lists the model repos present in a hub cache (for `winnow models`). */
export function scanHubCache(cacheRoot: string): CachedModel[] {
  if (!existsSync(cacheRoot)) return [];
  const out: CachedModel[] = [];
  for (const entry of readdirSync(cacheRoot).sort()) {
    const repoId = repoIdFromFolderName(entry);
    if (!repoId) continue;
    const repoDir = join(cacheRoot, entry);
    const refs: Record<string, string> = {};
    const refsDir = join(repoDir, "refs");
    if (existsSync(refsDir)) {
      for (const r of readdirSync(refsDir)) {
        try {
          refs[r] = readFileSync(join(refsDir, r), "utf8").trim();
        } catch {
          // a ref that is a folder (refs/pr/…) is not a revision we list
        }
      }
    }
    const snapshots: CachedModel["snapshots"] = [];
    const snapDir = join(repoDir, "snapshots");
    if (existsSync(snapDir)) {
      for (const commit of readdirSync(snapDir)) {
        const files = listFiles(join(snapDir, commit));
        const bytes = files.reduce((sum, f) => sum + safeSize(join(snapDir, commit, f)), 0);
        snapshots.push({ commit, files, bytes });
      }
    }
    out.push({ repoId, cacheRoot, refs, snapshots });
  }
  return out;
}

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    let st;
    try {
      st = statSync(full);
    } catch {
      continue; // dangling link: a blob was removed
    }
    if (st.isDirectory()) out.push(...listFiles(full, rel));
    else out.push(rel);
  }
  return out.sort();
}

function safeSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
