import { replaceFileAtomically } from "../../core/atomic-file.js";
import { createRequire } from "node:module";
import type hnswlib from "hnswlib-node";
import { InvalidInputError, WinnowError } from "../../core/errors.js";
import type { ExactVectorIndex, VectorHit, VectorSearcher } from "./exact-vector-index.js";

/** The native addon, loaded on first use: `import "winnow"` must not load it for users who never build an ANN index. */
function newGraph(dim: number): hnswlib.HierarchicalNSW {
  const addon = createRequire(import.meta.url)("hnswlib-node") as typeof hnswlib;
  return new addon.HierarchicalNSW("ip", dim);
}

export interface HnswOptions {
  /** Graph degree (hnswlib M, default 16): higher = better recall, more memory. */
  m?: number;
  /** Build-time beam (default 200). */
  efConstruction?: number;
  /** Search-time beam (default 100, raised to k when k is larger). */
  efSearch?: number;
  seed?: number;
}

/**
 * Approximate search for corpora past ~100k vectors, on hnswlib-node (a maintained
 * binding of hnswlib that builds on Node 20; usearch needs Node 22). Labels are the
 * positions in the exact index, which keeps the ids and vectors.
 */
export class HnswVectorIndex implements VectorSearcher {
  private constructor(
    private readonly graph: hnswlib.HierarchicalNSW,
    private readonly exact: ExactVectorIndex,
    private efSearch: number,
  ) {}

  /** Search-time beam: the recall/speed dial (bench:ann measures it). */
  setEfSearch(ef: number): void {
    if (!Number.isInteger(ef) || ef < 1) throw new InvalidInputError(`hnsw efSearch must be a positive integer, got ${String(ef)}`, { field: "efSearch" });
    this.efSearch = ef;
  }

  get dim(): number {
    return this.exact.dim;
  }
  get size(): number {
    return this.exact.size;
  }
  id(index: number): string {
    return this.exact.id(index);
  }

  static build(exact: ExactVectorIndex, options: HnswOptions = {}): HnswVectorIndex {
    const m = options.m ?? 16;
    const ef = options.efConstruction ?? 200;
    if (!Number.isInteger(m) || m < 2 || m > 256) throw new InvalidInputError(`hnsw m must be an integer in 2..256, got ${String(m)}`, { field: "m" });
    if (!Number.isInteger(ef) || ef < 1) throw new InvalidInputError(`hnsw efConstruction must be a positive integer`, { field: "efConstruction" });
    const graph = newGraph(exact.dim);
    graph.initIndex(exact.size, m, ef, options.seed ?? 100);
    for (let i = 0; i < exact.size; i++) graph.addPoint(Array.from(exact.vector(i)), i);
    return new HnswVectorIndex(graph, exact, options.efSearch ?? 100);
  }

  search(query: Float32Array, k: number, allow?: (index: number) => boolean): VectorHit[] {
    if (query.length !== this.dim) {
      throw new InvalidInputError(`query vector has dimension ${query.length}; the index has ${this.dim}`, { field: "query" });
    }
    const n = Math.min(k, this.size);
    this.graph.setEf(Math.max(this.efSearch, n));
    const r = this.graph.searchKnn(Array.from(query), n, allow);
    // hnswlib's "ip" space returns distance = 1 - inner product.
    return r.neighbors.map((index, i) => ({ index, score: 1 - r.distances[i] }));
  }

  async save(path: string): Promise<void> {
    await replaceFileAtomically(path, async (tmp) => {
      await this.graph.writeIndex(tmp);
    });
  }


  static async load(path: string, exact: ExactVectorIndex, options: Pick<HnswOptions, "efSearch"> = {}): Promise<HnswVectorIndex> {
    const graph = newGraph(exact.dim);
    try {
      await graph.readIndex(path);
    } catch (err) {
      throw new WinnowError("INDEX_CORRUPT", `hnsw index ${path}: ${(err as Error).message}`, { details: { path } });
    }
    if (graph.getCurrentCount() !== exact.size) {
      throw new WinnowError("INDEX_CORRUPT", `hnsw index ${path} holds ${graph.getCurrentCount()} vectors, the vector file ${exact.size}: rebuild with \`winnow embed --hnsw\``, {
        details: { path },
      });
    }
    return new HnswVectorIndex(graph, exact, options.efSearch ?? 100);
  }
}
