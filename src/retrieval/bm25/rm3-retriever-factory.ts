import type { Candidate, QueryInput, SearchOptions } from "../../core/types.js";
import type { FirstStageRetriever, RetrieverContext, RetrieverSpec } from "../registry.js";
import type { Bm25Rm3RetrieverSpec } from "../retriever-schemas.js";
import type { Bm25Index, Bm25Params } from "./bm25-index.js";
import { describeBm25, openBm25Index, type OpenedBm25 } from "./bm25-retriever-factory.js";
import { Rm3Retriever } from "./rm3.js";

/** BM25+RM3 as a first stage: the same index sources as the `bm25` row, searched with RM3 expansion. */
class Bm25Rm3FirstStage implements FirstStageRetriever {
  readonly name = "bm25-rm3";
  readonly corpusIndex: Bm25Index;
  private readonly rm3: Rm3Retriever;

  constructor(
    private readonly opened: OpenedBm25,
    private readonly searchParams: Partial<Bm25Params>,
    spec: Bm25Rm3RetrieverSpec,
  ) {
    this.corpusIndex = opened.index;
    this.rm3 = new Rm3Retriever(opened.index, spec);
  }

  search(query: QueryInput, k: number, options: SearchOptions = {}): Promise<Candidate[]> {
    return this.rm3.search(query, k, { ...this.searchParams, ...options });
  }

  describe(): Record<string, unknown> {
    return describeBm25(this.name, this.opened, this.searchParams, { ...this.rm3.params });
  }
}

/** Row `bm25-rm3`: a saved index, the context's index, or one built from a dataset, with RM3 expansion. */
export async function createBm25Rm3Retriever(raw: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  const spec = raw as Bm25Rm3RetrieverSpec;
  const p: Partial<Bm25Params> = {};
  if (spec.k1 !== undefined) p.k1 = spec.k1;
  if (spec.b !== undefined) p.b = spec.b;
  const o = await openBm25Index(spec, context, p);
  // As the bm25 row: a built index already has the parameters, a loaded one takes them at search time.
  return new Bm25Rm3FirstStage(o, o.built ? {} : p, spec);
}
