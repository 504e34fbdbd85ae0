import { existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { Document } from "../../core/types.js";
import { buildTokenStore, COMPRESSION_NAMES, type CompressionName } from "./build-token-store.js";
import { STORE_FOLDER, type StoreManifest } from "./token-store.js";

/** `winnow index --colbert …` settings, checked before anything is built. */
export interface IndexStoreFlags {
  model: string;
  compression: CompressionName;
  pooling: number;
  dtype?: "fp32" | "int8";
}

export function checkIndexStoreFlags(model: string, compression: string | undefined, pooling: string | undefined, dtype: string | undefined): IndexStoreFlags {
  const c = compression ?? "fp16";
  if (!(COMPRESSION_NAMES as readonly string[]).includes(c)) {
    throw new WinnowError("INVALID_INPUT", `--colbert-compression must be one of ${COMPRESSION_NAMES.join(", ")}, got "${c}"`, { details: { field: "--colbert-compression" } });
  }
  const p = pooling === undefined ? 1 : Number(pooling);
  if (!Number.isInteger(p) || p < 1 || p > 8) throw new WinnowError("INVALID_INPUT", `--colbert-pooling must be an integer from 1 (none) to 8, got "${pooling}"`, { details: { field: "--colbert-pooling", min: 1, max: 8 } });
  if (dtype !== undefined && dtype !== "fp32" && dtype !== "int8") throw new WinnowError("INVALID_INPUT", `--dtype must be fp32 or int8, got "${dtype}"`, { details: { field: "--dtype" } });
  return { model, compression: c as CompressionName, pooling: p, dtype: dtype as IndexStoreFlags["dtype"] };
}

/**
 * Moves an index folder's store out of the way while the BM25 index is saved (the BM25
 * writer refuses folders holding files it does not own), so a failed save can put it back.
 */
export async function setAsideStore(indexDir: string): Promise<{ restore(): Promise<void>; discard(): Promise<void> }> {
  const current = join(indexDir, STORE_FOLDER);
  if (!existsSync(current)) return { restore: async () => {}, discard: async () => {} };
  const aside = `${indexDir.replace(/\/+$/, "")}.colbert-aside-${randomBytes(4).toString("hex")}`;
  await rename(current, aside);
  return {
    restore: async () => rename(aside, current),
    discard: async () => rm(aside, { recursive: true, force: true }),
  };
}

/** Encodes the index's documents with the ColBERT model and writes `<indexDir>/colbert`; returns its manifest and docs/s. */
export async function writeIndexStore(
  indexDir: string,
  documents: { size: number; document(i: number): Document },
  flags: IndexStoreFlags,
  onProgress?: (done: number) => void,
): Promise<{ manifest: StoreManifest; docsPerSecond: number }> {
  const { ColbertEncoder } = await import("../../rerankers/colbert/colbert-encoder.js");
  const encoder = await ColbertEncoder.load({ model: flags.model, dtype: flags.dtype });
  try {
    const started = performance.now();
    const manifest = await buildTokenStore({ indexDir, encoder, documents, compression: flags.compression, pooling: flags.pooling, onProgress });
    return { manifest, docsPerSecond: documents.size / ((performance.now() - started) / 1000) };
  } finally {
    await encoder.close();
  }
}
