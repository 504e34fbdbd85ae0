import { toQuery } from "../../core/inputs.js";
import type { Candidate, QueryInput, SearchOptions } from "../../core/types.js";
import { createRetriever, type FirstStageRetriever, type RetrieverContext, type RetrieverSpec } from "../registry.js";
import type { HybridRetrieverSpec } from "../retriever-schemas.js";
import { reciprocalRankFusion } from "./fusion.js";

/** Several retrievers asked concurrently and fused by reciprocal rank. */
class HybridRetriever implements FirstStageRetriever {
  readonly name = "hybrid";
  readonly corpusIndex?: FirstStageRetriever["corpusIndex"];
  readonly vectors?: FirstStageRetriever["vectors"];
  /** List names in fused scores: the parts' names, numbered when one repeats. */
  private readonly names: string[];

  constructor(
    private readonly parts: FirstStageRetriever[],
    private readonly rrfK: number,
    private readonly depth: number | undefined,
  ) {
    // Rerankers get the first part's corpus index (the BM25 one when there is one) and vectors.
    this.corpusIndex = parts.find((p) => p.corpusIndex)?.corpusIndex;
    this.vectors = parts.find((p) => p.vectors)?.vectors;
    this.names = parts.map((p, i) => (parts.filter((x) => x.name === p.name).length > 1 ? `${p.name}${i + 1}` : p.name));
  }

  async search(query: QueryInput, k: number, options?: SearchOptions): Promise<Candidate[]> {
    const q = toQuery(query);
    const depth = this.depth ?? Math.max(k, 100);
    const lists = await Promise.all(this.parts.map(async (p, i) => ({ name: this.names[i], candidates: await p.search(q, depth, options) })));
    return reciprocalRankFusion(lists, { k: this.rrfK, limit: k });
  }

  describe(): Record<string, unknown> {
    return { type: "hybrid", rrfK: this.rrfK, depth: this.depth ?? null, retrievers: this.parts.map((p) => p.describe?.() ?? { name: p.name }) };
  }

  async close(): Promise<void> {
    for (const p of this.parts) await p.close?.();
  }
}

/** Row `hybrid`: its `retrievers` (each built by its own row, sharing the context), default bm25 + dense (with `model` when given). */
export async function createHybridRetriever(raw: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  const spec = raw as HybridRetrieverSpec;
  const specs: RetrieverSpec[] = spec.retrievers ?? [{ type: "bm25" }, { type: "dense", ...(spec.model !== undefined ? { model: spec.model } : {}) }];
  const parts: FirstStageRetriever[] = [];
  try {
    for (const s of specs) parts.push(await createRetriever(s, context));
  } catch (err) {
    for (const p of parts) await p.close?.();
    throw err;
  }
  return new HybridRetriever(parts, spec.rrfK, spec.depth);
}
