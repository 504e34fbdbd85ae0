import { join } from "node:path";
import { WinnowError } from "../../core/errors.js";
import { documentText } from "../../core/inputs.js";
import type { Document } from "../../core/types.js";
import type { ColbertEncoder } from "../../rerankers/colbert/colbert-encoder.js";
import type { TokenMatrix } from "../../rerankers/colbert/token-matrix.js";
import { defaultCentroidCount, trainResidualCodec, type ResidualCodec } from "./residual-codec.js";
import { poolTokens } from "./token-pooling.js";
import { STORE_FOLDER, TokenStoreWriter, type StoreCompression, type StoreManifest } from "./token-store.js";

/** What `--colbert-compression` accepts. */
export const COMPRESSION_NAMES = ["fp16", "fp32", "residual-2bit", "residual-1bit"] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];

export interface BuildTokenStoreOptions {
  /** The index folder; the store goes to `<indexDir>/colbert`. */
  indexDir: string;
  encoder: ColbertEncoder;
  documents: { size: number; document(i: number): Document };
  compression?: CompressionName;
  /** Token pooling factor (1 = none; 2–3 typical). */
  pooling?: number;
  /** Centroids for residual compression (default: ColBERT's count for the sample, capped at 1024). */
  centroids?: number;
  /** Token vectors the codec is trained on (default 16,384). */
  sampleTokens?: number;
  /** Documents encoded per call (default 32). */
  chunk?: number;
  onProgress?: (done: number) => void;
  signal?: AbortSignal;
  /** Vectors already encoded by `encoder`, one per document (benchmarks, tests): no encoding then. */
  encoded?: readonly TokenMatrix[];
}

/** The model identity a store records and a reranker must match (ColbertEncoder.identity). */
export function storeModelIdentity(encoder: ColbertEncoder): StoreManifest["model"] {
  return { identity: encoder.identity, id: encoder.source.id, dims: encoder.dims };
}

export function parseCompression(name: string, pooling: number, centroids: number): StoreCompression {
  const pool = pooling > 1 ? { pooling } : {};
  if (name === "fp16" || name === "fp32") return { kind: name, ...pool };
  if (name === "residual-2bit" || name === "residual-1bit") return { kind: "residual", bits: name === "residual-2bit" ? 2 : 1, centroids, ...pool };
  throw new WinnowError("INVALID_INPUT", `compression must be one of ${COMPRESSION_NAMES.join(", ")}, got ${JSON.stringify(name)}`, { details: { field: "compression" } });
}

/**
 * Encodes every document and writes the store, streaming: documents are encoded in
 * chunks and appended, so memory holds one chunk. Residual compression first encodes a
 * sample of documents to train its centroids and buckets (a second pass over them).
 */
export async function buildTokenStore(options: BuildTokenStoreOptions): Promise<StoreManifest> {
  const { encoder, documents } = options;
  const pooling = options.pooling ?? 1;
  if (!Number.isInteger(pooling) || pooling < 1 || pooling > 8) throw new WinnowError("INVALID_INPUT", `pooling must be an integer from 1 to 8, got ${String(options.pooling)}`, { details: { field: "pooling", min: 1, max: 8 } });
  const chunk = options.chunk ?? 32;
  if (options.encoded && options.encoded.length !== documents.size) throw new WinnowError("INTERNAL", `${options.encoded.length} encoded documents for ${documents.size}`);
  const encode = async (indices: readonly number[]): Promise<TokenMatrix[]> =>
    options.encoded ? indices.map((i) => options.encoded![i]) : encoder.encodeDocuments(indices.map((i) => documentText(documents.document(i))), options.signal);
  const pool = (m: TokenMatrix) => (pooling > 1 ? poolTokens(m, pooling) : m);
  const name = options.compression ?? "fp16";
  let codec: ResidualCodec | undefined;
  let compression = parseCompression(name, pooling, 0);
  if (compression.kind === "residual") {
    const target = options.sampleTokens ?? 16_384;
    const parts: Float32Array[] = [];
    let tokens = 0;
    // An evenly spaced sample of documents, so the codec sees the whole corpus, not its head.
    const step = Math.max(1, Math.floor(documents.size / Math.max(1, Math.ceil(target / 100))));
    const picks: number[] = [];
    for (let i = 0; i < documents.size && tokens < target; i += step) picks.push(i);
    for (let s = 0; s < picks.length && tokens < target; s += chunk) {
      for (const m of await encode(picks.slice(s, s + chunk))) {
        const p = pool(m);
        parts.push(p.data);
        tokens += p.rows;
      }
    }
    const sample = new Float32Array(tokens * encoder.dims);
    let off = 0;
    for (const p of parts) {
      sample.set(p, off);
      off += p.length;
    }
    const k = options.centroids ?? defaultCentroidCount(tokens);
    if (!Number.isInteger(k) || k < 1 || k > 65536) throw new WinnowError("INVALID_INPUT", `centroids must be an integer from 1 to 65536, got ${String(k)}`, { details: { field: "centroids", max: 65536 } });
    codec = trainResidualCodec(sample, encoder.dims, compression.bits, Math.min(k, tokens));
    compression = { ...compression, centroids: codec.centroids.length / encoder.dims };
  }
  const writer = await TokenStoreWriter.create(join(options.indexDir, STORE_FOLDER), storeModelIdentity(encoder), compression, codec);
  try {
    for (let start = 0; start < documents.size; start += chunk) {
      const docs = Array.from({ length: Math.min(chunk, documents.size - start) }, (_, k) => documents.document(start + k));
      const texts = docs.map(documentText);
      const matrices = await encode(docs.map((_, k) => start + k));
      for (let k = 0; k < docs.length; k++) await writer.add(docs[k].id, texts[k], pool(matrices[k]));
      options.onProgress?.(start + docs.length);
    }
    return await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
