import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { Candidate, Document, QueryInput, SearchOptions } from "../../core/types.js";
import { readCorpus } from "../../eval/readers/beir.js";
import { openBm25Index } from "../bm25/bm25-retriever-factory.js";
import type { FirstStageRetriever, RetrieverContext, RetrieverSpec } from "../registry.js";
import type { DenseRetrieverSpec } from "../retriever-schemas.js";
import { createEmbedder } from "./create-embedder.js";
import { DenseRetriever } from "./dense-retriever.js";
import { corpusEmbeddings } from "./embedding-cache.js";
import type { Embedder, EmbedderSpec } from "./embedder.js";
import { loadStoredVectors, VECTOR_FILE } from "./open-dense-retriever.js";

/** Config-relative model paths (`./models/e5`) resolve against the base folder; hub ids and absolute paths stay. */
function modelPath(model: string, baseDir: string | undefined): string {
  return /^\.\.?\//.test(model) ? resolve(baseDir ?? ".", model) : model;
}

/** The embedder the spec describes: `embedder` as given, or an ONNX bi-encoder from `model` and the text options. */
function embedderSpecOf(spec: DenseRetrieverSpec, baseDir: string | undefined): EmbedderSpec | undefined {
  if (spec.embedder) {
    const e = spec.embedder as EmbedderSpec;
    return typeof e.model === "string" ? { ...e, model: modelPath(e.model, baseDir) } : e;
  }
  if (spec.model === undefined) return undefined;
  const out: EmbedderSpec = { type: "onnx", model: modelPath(spec.model, baseDir) };
  for (const key of ["pooling", "maxLength", "queryPrefix", "documentPrefix", "offline"] as const) if (spec[key] !== undefined) out[key] = spec[key];
  return out;
}

/** A dense retriever with what the registry reports about it. */
class DenseFirstStage implements FirstStageRetriever {
  readonly name = "dense";

  constructor(
    private readonly inner: DenseRetriever,
    private readonly description: Record<string, unknown>,
    private readonly embedder: Embedder,
    readonly vectors: FirstStageRetriever["vectors"],
    readonly corpusIndex?: FirstStageRetriever["corpusIndex"],
  ) {}

  search(query: QueryInput, k: number, options?: SearchOptions): Promise<Candidate[]> {
    return this.inner.search(query, k, options);
  }

  describe(): Record<string, unknown> {
    return { ...this.description };
  }

  async close(): Promise<void> {
    await this.embedder.close?.();
  }
}

/**
 * Row `dense`. With stored vectors (the spec's `index`, or the context's index folder when
 * `winnow embed` wrote vectors there) it searches those; otherwise it embeds the corpus
 * (the spec's or context's dataset, else the documents of the context's BM25 index) with
 * `model`/`embedder`, cached on disk so the next run reads the vectors back.
 */
export async function createDenseRetriever(raw: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  const spec = raw as DenseRetrieverSpec;
  const base = context.baseDir ?? ".";
  const embedderSpec = embedderSpecOf(spec, context.baseDir);
  const contextFolder = typeof context.index === "string" && existsSync(join(resolve(base, context.index), VECTOR_FILE)) ? context.index : undefined;
  const stored = spec.index ?? (spec.dataset === undefined ? contextFolder : undefined);
  if (stored !== undefined) {
    const dir = resolve(base, stored);
    const { index } = await openBm25Index({ index: dir }, context);
    const vectors = await loadStoredVectors(dir, embedderSpec);
    const embedder = await createEmbedder(vectors.embedderSpec);
    const document = (id: string) => {
      const i = index.docIndex(id);
      return i === undefined ? undefined : index.document(i);
    };
    const inner = new DenseRetriever({ name: "dense", embedder, index: vectors.searcher, document });
    const description = { type: "dense", index: dir, vectors: "stored", embedder: embedder.id, documents: index.docCount, dim: vectors.exact.dim };
    return new DenseFirstStage(inner, description, embedder, vectors.exact, index);
  }

  if (!embedderSpec) {
    throw new WinnowError("CONFIG_INVALID", "dense retriever: model: no stored vectors to search: give `model` (a bi-encoder folder or hub id) to embed the corpus, or `index` (a folder with `winnow embed` vectors)", {
      details: { field: "model" },
    });
  }
  let corpus: AsyncIterable<Document> | Iterable<Document>;
  let corpusIndex: FirstStageRetriever["corpusIndex"];
  const dataset = spec.dataset ?? context.dataset;
  if (dataset !== undefined) {
    corpus = readCorpus(resolve(base, dataset));
  } else if (context.index !== undefined) {
    const { index } = await openBm25Index({}, context);
    corpusIndex = index;
    corpus = (function* () {
      for (let i = 0; i < index.size; i++) yield index.document(i);
    })();
  } else {
    throw new WinnowError("CONFIG_INVALID", "dense retriever: dataset: no corpus to embed: give `dataset` (a BEIR folder), --dataset, or a BM25 index whose documents to embed", {
      details: { field: "dataset" },
    });
  }
  const embedder = await createEmbedder({ ...embedderSpec, ...(spec.batchSize !== undefined ? { batchSize: spec.batchSize } : {}) });
  try {
    const t0 = performance.now();
    const computed = await corpusEmbeddings(corpus, {
      embedder,
      cacheDir: spec.cache === false ? false : spec.cacheDir !== undefined ? resolve(base, spec.cacheDir) : context.cacheDir,
      batchSize: spec.batchSize,
      progress: context.progress,
    });
    const documents = computed.documents;
    const inner = new DenseRetriever({ name: "dense", embedder, index: computed.vectors, document: (id) => documents.get(id) });
    const description = {
      type: "dense",
      model: embedderSpec.model ?? null,
      embedder: embedder.id,
      documents: documents.size,
      dim: computed.vectors.dim,
      vectors: computed.cache === "hit" ? "cached" : "computed",
      cacheFile: computed.file ?? null,
      embedMs: Math.round(performance.now() - t0),
    };
    return new DenseFirstStage(inner, description, embedder, computed.vectors, corpusIndex);
  } catch (err) {
    await embedder.close?.();
    throw err;
  }
}
