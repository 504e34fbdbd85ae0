import { WinnowError } from "../../core/errors.js";
import { toQuery } from "../../core/inputs.js";
import type { Candidate, Document, QueryInput, Retriever, SearchOptions } from "../../core/types.js";
import type { ColbertEncoder } from "../../rerankers/colbert/colbert-encoder.js";
import { maxSim } from "../../rerankers/colbert/maxsim.js";
import { matchesMetadataFilter } from "../pools/metadata-filter.js";
import type { TokenStore } from "./token-store.js";

export interface ColbertRetrieverOptions {
  store: TokenStore;
  encoder: ColbertEncoder;
  /** The document at a store position's id (from the BM25 index beside the store). */
  document: (id: string) => Document | undefined;
  /** Centroids probed per query token (PLAID's nprobe; default 4). */
  nprobe?: number;
  /** Candidates kept after centroid interaction for exact MaxSim (default max(4k, 256)). */
  exactCandidates?: number;
}

/**
 * ColBERT as a first stage, on PLAID's idea (Santhanam et al., "PLAID: An Efficient
 * Engine for Late Interaction Retrieval", 2022): a residual store already assigns every
 * token to a centroid, so the inverted lists centroid → documents come for free.
 *
 * 1. candidate generation: each query token's `nprobe` closest centroids; their
 *    documents are the candidates;
 * 2. centroid interaction: each candidate scored by MaxSim with its tokens replaced by
 *    their centroids (a table lookup in query × centroid scores, no decompression);
 * 3. exact MaxSim on the best `exactCandidates`, with decompressed vectors read from disk.
 *
 * The centroid ids of all tokens (2 bytes each) are held in memory; residuals stay on disk.
 */
export class ColbertRetriever implements Retriever {
  readonly name = "colbert";
  private readonly postings: Int32Array[];
  private readonly codes: Uint16Array;
  private readonly firstToken: Uint32Array;
  private readonly k: number;
  private readonly nprobe: number;

  constructor(private readonly options: ColbertRetrieverOptions) {
    const { store } = options;
    if (!store.codec) {
      throw new WinnowError("CONFIG_INVALID", `${store.path}: the colbert retriever needs a residual store (winnow index --colbert MODEL --colbert-compression residual-2bit); this one is ${store.manifest.compression.kind}`, {
        details: { field: "index", path: store.path },
      });
    }
    this.nprobe = options.nprobe ?? 4;
    this.k = store.codec.centroids.length / store.dims;
    this.codes = new Uint16Array(store.manifest.tokens);
    this.firstToken = new Uint32Array(store.size + 1);
    const lists: number[][] = Array.from({ length: this.k }, () => []);
    const last = new Int32Array(this.k).fill(-1);
    let at = 0;
    for (let i = 0; i < store.size; i++) {
      const ids = store.centroidIdsAt(i);
      this.firstToken[i] = at;
      this.codes.set(ids, at);
      at += ids.length;
      for (const c of ids) {
        if (last[c] !== i) {
          last[c] = i;
          lists[c].push(i);
        }
      }
    }
    this.firstToken[store.size] = at;
    this.postings = lists.map((l) => Int32Array.from(l));
  }

  async search(query: QueryInput, k: number, options: SearchOptions = {}): Promise<Candidate[]> {
    const { store, encoder, document } = this.options;
    const q = await encoder.encodeQuery(toQuery(query).text, options.signal);
    const codec = store.codec!;
    const d = store.dims;
    const K = this.k;
    // Query token × centroid scores.
    const qc = new Float32Array(q.rows * K);
    for (let i = 0; i < q.rows; i++) {
      for (let c = 0; c < K; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += q.data[i * d + j] * codec.centroids[c * d + j];
        qc[i * K + c] = s;
      }
    }
    // 1. Candidates: documents in the nprobe best cells of any query token.
    const seen = new Uint8Array(store.size);
    const candidates: number[] = [];
    const probe = Math.min(this.nprobe, K);
    for (let i = 0; i < q.rows; i++) {
      const row = qc.subarray(i * K, (i + 1) * K);
      const best = topIndices(row, probe);
      for (const c of best) for (const doc of this.postings[c]) if (!seen[doc]) ((seen[doc] = 1), candidates.push(doc));
    }
    const filter = options.filter;
    const allowed = filter ? candidates.filter((i) => matchesMetadataFilter(document(store.ids[i])?.metadata, filter)) : candidates;
    // 2. Centroid interaction.
    const approx = new Float64Array(allowed.length);
    allowed.forEach((doc, n) => {
      const from = this.firstToken[doc];
      const to = this.firstToken[doc + 1];
      let total = 0;
      for (let i = 0; i < q.rows; i++) {
        const base = i * K;
        let m = -Infinity;
        for (let t = from; t < to; t++) {
          const s = qc[base + this.codes[t]];
          if (s > m) m = s;
        }
        total += to > from ? m : 0;
      }
      approx[n] = total;
    });
    const keep = Math.min(allowed.length, Math.max(this.options.exactCandidates ?? 4 * k, 256, k));
    const shortlist = topIndices(approx, keep).map((n) => allowed[n]);
    // 3. Exact MaxSim on the shortlist.
    const exact = shortlist.map((doc) => {
      const m = store.vectorsAt(doc);
      return { doc, score: maxSim(q, m.data, m.rows) };
    });
    exact.sort((a, b) => b.score - a.score || a.doc - b.doc);
    const out: Candidate[] = [];
    for (const { doc, score } of exact) {
      if (out.length >= k) break;
      const d0 = document(store.ids[doc]);
      if (!d0) continue; // a stored document the BM25 index does not hold (out of sync): cannot be returned
      out.push({ document: d0, score, rank: out.length + 1, source: this.name, scores: { colbert: score } });
    }
    return out;
  }
}

/** Indices of the `n` largest values, best first (ties by index). */
function topIndices(values: ArrayLike<number>, n: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  if (n >= idx.length) return idx.sort((a, b) => values[b] - values[a] || a - b);
  // Partial selection is not worth it at these sizes (≤ a few thousand): sort.
  return idx.sort((a, b) => values[b] - values[a] || a - b).slice(0, n);
}
