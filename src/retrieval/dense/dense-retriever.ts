import { LRUCache } from "lru-cache";
import { toQuery } from "../../core/inputs.js";
import type { Candidate, Document, QueryInput, Retriever, SearchOptions } from "../../core/types.js";
import type { VectorSearcher } from "../vector/exact-vector-index.js";
import { matchesMetadataFilter } from "../pools/metadata-filter.js";
import type { Embedder } from "./embedder.js";

export interface DenseRetrieverOptions {
  name?: string;
  embedder: Embedder;
  index: VectorSearcher;
  /** The document behind an id (from the BM25 store or a corpus). */
  document: (id: string) => Document | undefined;
  /** Query vectors kept in memory (default 1024); repeated queries skip the embedder. */
  queryCacheSize?: number;
}

/** First-stage retrieval by vector similarity; filters are applied inside the search, not after it. */
export class DenseRetriever implements Retriever {
  readonly name: string;
  private readonly queryCache: LRUCache<string, Float32Array>;

  constructor(private readonly options: DenseRetrieverOptions) {
    this.name = options.name ?? "dense";
    this.queryCache = new LRUCache({ max: options.queryCacheSize ?? 1024 });
  }

  async embedQuery(text: string, signal?: AbortSignal): Promise<Float32Array> {
    const hit = this.queryCache.get(text);
    if (hit) return hit;
    const [v] = await this.options.embedder.embed([text], "query", signal);
    this.queryCache.set(text, v);
    return v;
  }

  async search(query: QueryInput, k: number, options: SearchOptions = {}): Promise<Candidate[]> {
    const q = toQuery(query);
    const vec = await this.embedQuery(q.text, options.signal);
    const { index, document } = this.options;
    const filter = options.filter;
    const allow = filter ? (i: number) => matchesMetadataFilter(document(index.id(i))?.metadata, filter) : undefined;
    const hits = index.search(vec, k, allow);
    const out: Candidate[] = [];
    for (const h of hits) {
      const doc = document(index.id(h.index));
      // A vector without a document (index and store out of sync) cannot be reranked: skip it.
      if (!doc) continue;
      out.push({ document: doc, score: h.score, rank: out.length + 1, source: this.name, scores: { dense: h.score } });
    }
    return out;
  }
}
