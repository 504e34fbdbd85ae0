import { existsSync } from "node:fs";
import { join } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { Document } from "../../core/types.js";
import { ExactVectorIndex, type VectorSearcher } from "../vector/exact-vector-index.js";
import { HnswVectorIndex } from "../vector/hnsw-vector-index.js";
import { createEmbedder } from "./create-embedder.js";
import { DenseRetriever } from "./dense-retriever.js";
import type { EmbedderSpec } from "./embedder.js";

/** File names inside an index folder, next to the BM25 files. */
export const VECTOR_FILE = "vectors.wnvec";
export const HNSW_FILE = "vectors.hnsw";

/** Anything that can hand back a stored document by id (the BM25 index does). */
export interface DocumentStore {
  docIndex(id: string): number | undefined;
  document(i: number): Document;
}

/** An index folder's stored vectors: the exact index, the one to search (HNSW when built), and the embedder for queries. */
export interface StoredDenseIndex {
  exact: ExactVectorIndex;
  searcher: VectorSearcher;
  embedderSpec: EmbedderSpec;
}

/**
 * Reads the dense side of an index folder: the exact vectors, the HNSW graph when
 * `winnow embed --hnsw` built one, and the embedder recorded with the vectors unless
 * the caller names another (it must produce the same kind of vectors).
 */
export async function loadStoredVectors(indexDir: string, embedderSpec?: Record<string, unknown>): Promise<StoredDenseIndex> {
  const exact = await ExactVectorIndex.load(join(indexDir, VECTOR_FILE));
  const hnswPath = join(indexDir, HNSW_FILE);
  const searcher: VectorSearcher = existsSync(hnswPath) ? await HnswVectorIndex.load(hnswPath, exact) : exact;
  const spec = (embedderSpec ?? exact.embedder) as EmbedderSpec | undefined;
  if (!spec) {
    throw new WinnowError("CONFIG_INVALID", `${join(indexDir, VECTOR_FILE)} holds imported vectors with no embedder recorded: name one in the retriever's \`embedder\``, {
      details: { field: "embedder" },
    });
  }
  return { exact, searcher, embedderSpec: spec };
}

/** Opens the dense side of an index folder as a retriever (see loadStoredVectors); documents come from `store`. */
export async function openDenseRetriever(indexDir: string, store: DocumentStore, embedderSpec?: Record<string, unknown>, name = "dense"): Promise<DenseRetriever> {
  const stored = await loadStoredVectors(indexDir, embedderSpec);
  const embedder = await createEmbedder(stored.embedderSpec);
  return new DenseRetriever({
    name,
    embedder,
    index: stored.searcher,
    document: (id) => {
      const i = store.docIndex(id);
      return i === undefined ? undefined : store.document(i);
    },
  });
}
