import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../../core/atomic-file.js";
import { throwIfAborted } from "../../core/errors.js";
import { documentText } from "../../core/inputs.js";
import type { Document } from "../../core/types.js";
import { ExactVectorIndex } from "../vector/exact-vector-index.js";
import type { Embedder } from "./embedder.js";

/** Where corpus embeddings are cached: `$WINNOW_CACHE/embeddings`, else `$XDG_CACHE_HOME/winnow/embeddings`, else `~/.cache/winnow/embeddings`. */
export function embeddingCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WINNOW_CACHE) return join(env.WINNOW_CACHE, "embeddings");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "winnow", "embeddings");
}

/**
 * The files behind a local model folder, by size and modification time: a folder's id is
 * its path, so without these a regenerated model at the same path would reuse stale vectors.
 */
function localModelFingerprint(spec: Record<string, unknown>): string {
  const model = spec.model;
  if (typeof model !== "string" || !existsSync(model)) return "";
  const files = ["tokenizer.json", "config.json", typeof spec.onnxFile === "string" ? spec.onnxFile : "onnx/model.onnx"];
  return files
    .map((f) => {
      try {
        const s = statSync(join(model, f));
        return `${f}:${s.size}:${s.mtimeMs}`;
      } catch {
        return `${f}:-`;
      }
    })
    .join(",");
}

export interface CorpusEmbeddings {
  vectors: ExactVectorIndex;
  /** The corpus by id (the dense retriever's document store). */
  documents: Map<string, Document>;
  /** `hit`: read from the cache; `miss`: embedded and written; `off`: embedded, cache not used. */
  cache: "hit" | "miss" | "off";
  file?: string;
}

export interface CorpusEmbeddingOptions {
  embedder: Embedder;
  /** Cache folder; false: embed every time. Default embeddingCacheDir(). */
  cacheDir?: string | false;
  /** Texts per embedder call (default 32); documents are embedded 8 batches at a time. */
  batchSize?: number;
  progress?: (message: string) => void;
  signal?: AbortSignal;
}

interface CacheManifest {
  format: "winnow-embedding-cache";
  version: 1;
  /** sha256 of the vector file: a torn or tampered file is recomputed, never searched. */
  sha256: string;
  count: number;
  dim: number;
  embedder: string;
  corpus: string;
}

async function readCached(file: string, manifestFile: string, key: { embedder: string; corpus: string; count: number }): Promise<ExactVectorIndex | undefined> {
  if (!existsSync(file) || !existsSync(manifestFile)) return undefined;
  try {
    const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as CacheManifest;
    if (manifest.format !== "winnow-embedding-cache" || manifest.version !== 1) return undefined;
    if (manifest.embedder !== key.embedder || manifest.corpus !== key.corpus || manifest.count !== key.count) return undefined;
    const sha = createHash("sha256").update(await readFile(file)).digest("hex");
    if (sha !== manifest.sha256) return undefined;
    const vectors = await ExactVectorIndex.load(file);
    return vectors.size === key.count ? vectors : undefined;
  } catch {
    // Unreadable or corrupt: recompute and overwrite.
    return undefined;
  }
}

/**
 * The corpus's document vectors, computed with `embedder` or read back from the cache.
 * The corpus is streamed once (the documents are kept: the retriever returns them),
 * hashed on the way (ids and the texts embedded); the cache key is that hash with the
 * embedder's identity (model, revision, pooling, length, prefixes) and, for a local
 * folder, its files' sizes and times. Writes are atomic, the vector file's checksum
 * is kept beside it and checked on every read.
 */
export async function corpusEmbeddings(corpus: AsyncIterable<Document> | Iterable<Document>, options: CorpusEmbeddingOptions): Promise<CorpusEmbeddings> {
  const documents = new Map<string, Document>();
  const hash = createHash("sha256");
  for await (const doc of corpus) {
    if (documents.has(doc.id)) continue;
    documents.set(doc.id, doc);
    hash.update(doc.id).update("\0").update(documentText(doc)).update("\0");
  }
  const corpusKey = hash.digest("hex");
  const embedderKey = `${options.embedder.id}|${localModelFingerprint(options.embedder.spec)}`;
  const key = createHash("sha256").update(embedderKey).update("\n").update(corpusKey).digest("hex").slice(0, 32);
  const dir = options.cacheDir === false ? undefined : resolve(options.cacheDir ?? embeddingCacheDir());
  const file = dir ? join(dir, `${key}.wnvec`) : undefined;
  const manifestFile = dir ? join(dir, `${key}.json`) : undefined;
  if (file && manifestFile) {
    const cached = await readCached(file, manifestFile, { embedder: embedderKey, corpus: corpusKey, count: documents.size });
    if (cached) return { vectors: cached, documents, cache: "hit", file };
  }

  const batchSize = options.batchSize ?? 32;
  const chunk = batchSize * 8;
  const docs = [...documents.values()];
  const entries: Array<{ id: string; vector: Float32Array }> = [];
  for (let start = 0; start < docs.length; start += chunk) {
    throwIfAborted(options.signal);
    const slice = docs.slice(start, start + chunk);
    const vectors = await options.embedder.embed(slice.map(documentText), "document", options.signal);
    slice.forEach((d, i) => entries.push({ id: d.id, vector: vectors[i] }));
    options.progress?.(`embedded ${entries.length}/${docs.length} documents`);
  }
  const { batchSize: _b, ...stored } = options.embedder.spec;
  const vectors = ExactVectorIndex.build(entries, { embedder: stored });
  if (!file || !manifestFile) return { vectors, documents, cache: "off" };
  await vectors.save(file);
  const manifest: CacheManifest = {
    format: "winnow-embedding-cache",
    version: 1,
    sha256: createHash("sha256").update(await readFile(file)).digest("hex"),
    count: vectors.size,
    dim: vectors.dim,
    embedder: embedderKey,
    corpus: corpusKey,
  };
  // The manifest goes last: a crash between the two leaves a vector file no manifest vouches for, which is recomputed.
  await writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 2) + "\n");
  return { vectors, documents, cache: "miss", file };
}
