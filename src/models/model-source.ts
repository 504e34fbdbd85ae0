import { existsSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { WinnowError } from "../core/errors.js";
import { downloadCacheDir, findSnapshot, hubEndpoint, isHubModelId, isOffline, lookupCacheDirs, repoFolderName, type HubCacheEnv } from "./hub-cache.js";
import { downloadHubFile } from "./hub-download.js";

/**
 * Turns what a user typed as `--model` into a local folder in the Hugging Face
 * layout: a folder path is used as is; a hub id is looked up in the caches and,
 * unless offline, downloaded once. Which files a model needs is the caller's
 * business (a cross-encoder needs an ONNX graph and a tokenizer, an embedder the same
 * plus pooling config), so this module stays family-neutral.
 */

export interface ModelFiles {
  /** Files that must exist (paths relative to the model folder). */
  required: readonly string[];
  /** Files fetched when the repo has them (a 404 is fine). */
  optional?: readonly string[];
}

export interface ModelSourceOptions {
  revision?: string;
  /** Cache to download into (default `$WINNOW_CACHE/hub`, else the HF hub cache). */
  cacheDir?: string;
  offline?: boolean;
  /** Overrides process.env (tests). */
  env?: HubCacheEnv;
  signal?: AbortSignal;
  /** Called once per file actually downloaded (progress output). */
  onDownload?: (file: string) => void;
}

export interface ResolvedModel {
  /** Local folder holding the files. */
  dir: string;
  /** Hub id, or the folder path for local models: used in cache keys and metrics. */
  id: string;
  /** Commit hash for hub models, "local" for folders. */
  revision: string;
  origin: "folder" | "cache" | "download";
}

function looksLikePath(model: string): boolean {
  return isAbsolute(model) || model.startsWith(".") || model.startsWith("~") || model.includes("\\") || existsSync(model);
}

function missingFiles(dir: string, files: readonly string[]): string[] {
  return files.filter((f) => !existsSync(join(dir, f)));
}

export async function resolveModelSource(model: string, files: ModelFiles, options: ModelSourceOptions = {}): Promise<ResolvedModel> {
  if (typeof model !== "string" || model.trim() === "") {
    throw new WinnowError("CONFIG_INVALID", "model must be a non-empty hub id or folder path", { details: { field: "model" } });
  }
  const revision = options.revision ?? "main";
  if (looksLikePath(model)) {
    const dir = resolve(model.startsWith("~") ? model.replace(/^~/, process.env.HOME ?? "~") : model);
    if (!existsSync(dir)) {
      throw new WinnowError("MODEL_NOT_FOUND", `model folder ${dir} does not exist`, { details: { field: "model", path: dir } });
    }
    if (!statSync(dir).isDirectory()) {
      // Typically the .onnx file itself: name the folder that would work.
      const parent = dirname(dir);
      const folder = basename(parent) === "onnx" ? dirname(parent) : parent;
      throw new WinnowError(
        "MODEL_NOT_FOUND",
        `model ${dir} is a file, not a model folder: pass the folder in the Hugging Face layout (${files.required.join(", ")}), e.g. ${folder}`,
        { details: { field: "model", path: dir } },
      );
    }
    const missing = missingFiles(dir, files.required);
    if (missing.length > 0) {
      throw new WinnowError("MODEL_NOT_FOUND", `model folder ${dir} is missing ${missing.join(", ")} (expected the Hugging Face layout: ${files.required.join(", ")})`, {
        details: { field: "model", path: dir, missing },
      });
    }
    return { dir, id: dir, revision: "local", origin: "folder" };
  }
  if (!isHubModelId(model)) {
    throw new WinnowError("MODEL_NOT_FOUND", `model "${model}" is neither an existing folder nor a hub id like org/name`, { details: { field: "model" } });
  }

  const looked: string[] = [];
  for (const root of lookupCacheDirs(options.cacheDir, options.env)) {
    const snap = findSnapshot(root, model, revision);
    looked.push(snap ? snap.dir : root);
    if (snap && missingFiles(snap.dir, files.required).length === 0) {
      return { dir: snap.dir, id: model, revision: snap.commit, origin: "cache" };
    }
  }
  if (isOffline(options.offline, options.env)) {
    throw new WinnowError(
      "MODEL_NOT_FOUND",
      `model ${model}@${revision} is not in the cache and offline mode is on (looked in ${looked.join(", ")}; needs ${files.required.join(", ")}). ` +
        `Fetch it once with network access: \`winnow models pull ${model}\` (or HF_ENDPOINT=<mirror>), or pass a local folder to --model.`,
      { details: { field: "model", model, revision, looked, required: files.required } },
    );
  }

  const env = options.env ?? (process.env as HubCacheEnv);
  const cacheRoot = downloadCacheDir(options.cacheDir, env);
  const endpoint = hubEndpoint(env);
  let commit: string | undefined;
  let dir: string | undefined;
  // Pin the first file's commit for the rest, so a push mid-download cannot mix revisions.
  for (const file of [...files.required, ...(files.optional ?? [])]) {
    const required = files.required.includes(file);
    const result = await downloadHubFile({ cacheRoot, endpoint, repoId: model, revision: commit ?? revision, file, token: env.HF_TOKEN, signal: options.signal });
    if (!result) {
      if (required) {
        throw new WinnowError("MODEL_NOT_FOUND", `${model}@${revision} has no file ${file} on ${endpoint} (HTTP 404)`, {
          details: { field: "model", model, file, endpoint },
        });
      }
      continue;
    }
    if (result.downloaded) options.onDownload?.(file);
    if (!commit) {
      commit = result.commit;
      dir = join(cacheRoot, repoFolderName(model), "snapshots", commit);
    }
  }
  // downloadHubFile recorded refs/<revision> with the first file, so offline runs find it by name.
  if (!commit || !dir) throw new WinnowError("MODEL_NOT_FOUND", `${model}: no files requested`, { details: { field: "model" } });
  return { dir, id: model, revision: commit, origin: "download" };
}
