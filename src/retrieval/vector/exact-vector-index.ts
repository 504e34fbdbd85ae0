import { writeFileAtomic } from "../../core/atomic-file.js";
import { readFile } from "node:fs/promises";
import { InvalidInputError, WinnowError } from "../../core/errors.js";

/** One nearest-neighbour hit: position in the index and similarity (inner product; cosine for unit vectors). */
export interface VectorHit {
  index: number;
  score: number;
}

/** What a dense retriever searches: exact scan or an ANN graph, same contract. */
export interface VectorSearcher {
  readonly dim: number;
  readonly size: number;
  id(index: number): string;
  search(query: Float32Array, k: number, allow?: (index: number) => boolean): VectorHit[];
}

export interface VectorIndexHeader {
  version: 1;
  dim: number;
  count: number;
  ids: string[];
  /** Vectors were L2-normalized when stored, so inner product is cosine. */
  normalized: boolean;
  /** The embedder that made the vectors (spec), so queries are embedded the same way. */
  embedder?: Record<string, unknown>;
}

const MAGIC = Buffer.from("WNVEC1\n");

export function l2Normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/**
 * Exact inner-product search over one contiguous Float32Array. A full scan of 100k × 384
 * floats is ~40 M multiply-adds (tens of ms on one core), so up to ~100k vectors this
 * beats an ANN graph on simplicity and recall (1.0 by definition).
 */
export class ExactVectorIndex implements VectorSearcher {
  private constructor(
    readonly dim: number,
    private readonly vectors: Float32Array,
    private readonly ids: string[],
    readonly normalized: boolean,
    readonly embedder?: Record<string, unknown>,
  ) {}

  get size(): number {
    return this.ids.length;
  }

  id(index: number): string {
    return this.ids[index];
  }

  vector(index: number): Float32Array {
    return this.vectors.subarray(index * this.dim, (index + 1) * this.dim);
  }

  /** Builds from (id, vector) pairs; every vector must have the same dimension. */
  static build(
    entries: ReadonlyArray<{ id: string; vector: ArrayLike<number> }>,
    options: { normalize?: boolean; embedder?: Record<string, unknown> } = {},
  ): ExactVectorIndex {
    if (entries.length === 0) throw new InvalidInputError("vectors: need at least one vector", { field: "vectors" });
    const dim = entries[0].vector.length;
    if (!Number.isInteger(dim) || dim < 1 || dim > 65_536) {
      throw new InvalidInputError(`vectors[0] has dimension ${dim}; expected 1..65536`, { field: "vectors[0]" });
    }
    const normalize = options.normalize ?? true;
    const data = new Float32Array(entries.length * dim);
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      if (typeof e.id !== "string" || e.id.length === 0) throw new InvalidInputError(`vectors[${i}].id must be a non-empty string`, { field: `vectors[${i}].id` });
      if (seen.has(e.id)) throw new InvalidInputError(`vectors[${i}].id "${e.id}" appears twice`, { field: `vectors[${i}].id` });
      seen.add(e.id);
      if (e.vector.length !== dim) {
        throw new InvalidInputError(`vectors[${i}] ("${e.id}") has dimension ${e.vector.length}; expected ${dim} like vectors[0]`, { field: `vectors[${i}]` });
      }
      const row = data.subarray(i * dim, (i + 1) * dim);
      for (let j = 0; j < dim; j++) {
        const x = Number(e.vector[j]);
        if (!Number.isFinite(x)) throw new InvalidInputError(`vectors[${i}] ("${e.id}") has a non-finite value at ${j}`, { field: `vectors[${i}]` });
        row[j] = x;
      }
      if (normalize) l2Normalize(row);
    });
    return new ExactVectorIndex(dim, data, entries.map((e) => e.id), normalize, options.embedder);
  }

  search(query: Float32Array, k: number, allow?: (index: number) => boolean): VectorHit[] {
    if (query.length !== this.dim) {
      throw new InvalidInputError(`query vector has dimension ${query.length}; the index has ${this.dim}`, { field: "query" });
    }
    if (!Number.isInteger(k) || k < 1) throw new InvalidInputError(`k must be a positive integer, got ${String(k)}`, { field: "k" });
    const n = this.size;
    const dim = this.dim;
    const v = this.vectors;
    // Keep the best k in a small array sorted ascending; k is small next to n, so the
    // insertion cost is paid only by the rare candidate that beats the current k-th.
    const topScores: number[] = [];
    const topIdx: number[] = [];
    for (let i = 0; i < n; i++) {
      if (allow && !allow(i)) continue;
      let s = 0;
      const off = i * dim;
      for (let j = 0; j < dim; j++) s += v[off + j] * query[j];
      if (topScores.length === k && s <= topScores[0]) continue;
      let pos = 0;
      while (pos < topScores.length && topScores[pos] < s) pos++;
      topScores.splice(pos, 0, s);
      topIdx.splice(pos, 0, i);
      if (topScores.length > k) {
        topScores.shift();
        topIdx.shift();
      }
    }
    const hits: VectorHit[] = [];
    for (let i = topScores.length - 1; i >= 0; i--) hits.push({ index: topIdx[i], score: topScores[i] });
    return hits;
  }

  /** One file: magic, header length, JSON header (ids, dim…), padding, then the float32 rows. */
  async save(path: string): Promise<void> {
    const header: VectorIndexHeader = { version: 1, dim: this.dim, count: this.size, ids: this.ids, normalized: this.normalized, embedder: this.embedder };
    const json = Buffer.from(JSON.stringify(header));
    const pre = MAGIC.length + 4 + json.length;
    const pad = (4 - (pre % 4)) % 4;
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length + pad);
    const body = Buffer.from(this.vectors.buffer, this.vectors.byteOffset, this.vectors.byteLength);
    await writeFileAtomic(path, Buffer.concat([MAGIC, len, json, Buffer.alloc(pad, 0x20), body]));
  }

  static async load(path: string): Promise<ExactVectorIndex> {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      throw new WinnowError("NOT_FOUND", `vector index ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file (run `winnow embed` first)" : (err as Error).message}`, {
        details: { path },
      });
    }
    if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new WinnowError("INDEX_CORRUPT", `vector index ${path}: not a Winnow vector file`, { details: { path } });
    }
    const hlen = buf.readUInt32LE(MAGIC.length);
    const start = MAGIC.length + 4;
    let header: VectorIndexHeader;
    try {
      header = JSON.parse(buf.subarray(start, start + hlen).toString("utf8")) as VectorIndexHeader;
    } catch {
      throw new WinnowError("INDEX_CORRUPT", `vector index ${path}: unreadable header`, { details: { path } });
    }
    if (header.version !== 1) {
      throw new WinnowError("INDEX_VERSION_MISMATCH", `vector index ${path}: version ${String(header.version)}, this Winnow reads version 1`, { details: { path } });
    }
    const bodyStart = start + hlen;
    const expected = header.count * header.dim * 4;
    if (buf.length - bodyStart !== expected || header.ids.length !== header.count) {
      throw new WinnowError("INDEX_CORRUPT", `vector index ${path}: ${buf.length - bodyStart} bytes of vectors, expected ${expected}`, { details: { path } });
    }
    // Copy into an aligned buffer: Buffer pooling can leave the payload at an odd offset.
    const vectors = new Float32Array(header.count * header.dim);
    new Uint8Array(vectors.buffer).set(buf.subarray(bodyStart));
    return new ExactVectorIndex(header.dim, vectors, header.ids, header.normalized, header.embedder);
  }
}
