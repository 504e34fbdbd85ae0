import { resolve } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { Candidate, QueryInput, SearchOptions } from "../../core/types.js";
import { ColbertEncoder } from "../../rerankers/colbert/colbert-encoder.js";
import { openBm25Index } from "../bm25/bm25-retriever-factory.js";
import type { FirstStageRetriever, RetrieverContext, RetrieverSpec } from "../registry.js";
import { ColbertRetriever } from "./colbert-retriever.js";
import type { ColbertRetrieverSpec } from "./colbert-retriever-schema.js";
import { TokenStore } from "./token-store.js";

/** The colbert retriever with what the registry reports about it. */
class ColbertFirstStage implements FirstStageRetriever {
  readonly name = "colbert";
  constructor(
    private readonly inner: ColbertRetriever,
    private readonly store: TokenStore,
    private readonly encoder: ColbertEncoder,
    readonly corpusIndex: FirstStageRetriever["corpusIndex"],
    private readonly description: Record<string, unknown>,
  ) {}

  search(query: QueryInput, k: number, options?: SearchOptions): Promise<Candidate[]> {
    return this.inner.search(query, k, options);
  }

  describe(): Record<string, unknown> {
    return { ...this.description };
  }

  async close(): Promise<void> {
    this.store.close();
    await this.encoder.close();
  }
}

/**
 * Row `colbert`: PLAID-style retrieval over an index folder's residual token store; the
 * documents come from the BM25 index in the same folder. Fusable with bm25 in `hybrid`.
 */
export async function createColbertRetriever(raw: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  const spec = raw as ColbertRetrieverSpec;
  const folder = spec.index ?? (typeof context.index === "string" ? context.index : undefined);
  if (folder === undefined) {
    throw new WinnowError("CONFIG_INVALID", "colbert retriever: index: give `index` (a folder written by `winnow index --colbert M --colbert-compression residual-2bit`) or --index", { details: { field: "index" } });
  }
  const dir = resolve(context.baseDir ?? ".", folder);
  const store = await TokenStore.open(dir);
  let encoder: ColbertEncoder | undefined;
  try {
    const model = spec.model ? (/^\.\.?\//.test(spec.model) ? resolve(context.baseDir ?? ".", spec.model) : spec.model) : store.manifest.model.id;
    encoder = await ColbertEncoder.load({ model, dtype: spec.dtype, threads: spec.threads, offline: spec.offline });
    if (encoder.identity !== store.modelIdentity) {
      throw new WinnowError("CONFIG_INVALID", `${store.path}: token vectors were stored with ${store.modelIdentity}, not ${encoder.identity}; query with the store's model or rebuild the store`, { details: { field: "model", path: store.path } });
    }
    const { index } = await openBm25Index({ index: dir }, context);
    const retriever = new ColbertRetriever({
      store,
      encoder,
      nprobe: spec.nprobe,
      exactCandidates: spec.exactCandidates,
      document: (id) => {
        const i = index.docIndex(id);
        return i === undefined ? undefined : index.document(i);
      },
    });
    const c = store.manifest.compression;
    return new ColbertFirstStage(retriever, store, encoder, index, {
      type: "colbert",
      index: dir,
      model,
      documents: store.size,
      tokens: store.manifest.tokens,
      compression: c.kind === "residual" ? `residual-${c.bits}bit` : c.kind,
      centroids: c.kind === "residual" ? c.centroids : undefined,
      nprobe: spec.nprobe ?? 4,
    });
  } catch (err) {
    store.close();
    await encoder?.close();
    throw err;
  }
}
