import { resolve } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { Candidate, Document, QueryInput, SearchOptions } from "../../core/types.js";
import { readCorpus } from "../../eval/readers/beir.js";
import type { FirstStageRetriever, RetrieverContext, RetrieverSpec } from "../registry.js";
import type { Bm25RetrieverSpec, MemoryRetrieverSpec } from "../retriever-schemas.js";
import { Bm25Index, type Bm25Params } from "./bm25-index.js";

/** Where a BM25 index comes from, and how many documents this run indexed (none when loaded). */
export interface OpenedBm25 {
  index: Bm25Index;
  /** The folder it was loaded from; undefined when built in memory. */
  folder?: string;
  built: boolean;
}

// Per context: every retriever created with one context shares the indexes it opens.
const opened = new WeakMap<RetrieverContext, Map<string, Promise<OpenedBm25>>>();

function shared(context: RetrieverContext, key: string, open: () => Promise<OpenedBm25>): Promise<OpenedBm25> {
  let byKey = opened.get(context);
  if (!byKey) opened.set(context, (byKey = new Map()));
  let p = byKey.get(key);
  if (!p) {
    p = open();
    byKey.set(key, p);
    // A failed open is not remembered: the next caller gets the error afresh.
    p.catch(() => byKey!.delete(key));
  }
  return p;
}

/**
 * The BM25 index a spec and its context name: the spec's `index` folder, else its
 * `dataset` built in memory, else the context's index (built or a folder), else the
 * context's dataset. Build parameters (k1, b) apply only when building.
 */
export async function openBm25Index(
  spec: { index?: string; dataset?: string },
  context: RetrieverContext,
  build: Partial<Bm25Params> = {},
): Promise<OpenedBm25> {
  const base = context.baseDir ?? ".";
  const folder = spec.index ?? (spec.dataset === undefined && typeof context.index === "string" ? context.index : undefined);
  if (folder !== undefined) {
    const dir = resolve(base, folder);
    return shared(context, `index:${dir}`, async () => ({ index: await Bm25Index.load(dir), folder: dir, built: false }));
  }
  if (spec.dataset === undefined && context.index !== undefined && typeof context.index !== "string") {
    return { index: context.index, built: false };
  }
  const dataset = spec.dataset ?? context.dataset;
  if (dataset === undefined) {
    throw new WinnowError("CONFIG_INVALID", "bm25 retriever: index: no index to search: give `index` (a folder written by `winnow index`) or a dataset to build one from (--dataset)", {
      details: { field: "index" },
    });
  }
  const dir = resolve(base, dataset);
  return shared(context, `dataset:${dir}:${build.k1 ?? ""}:${build.b ?? ""}`, async () => {
    const progress = context.progress;
    const index = await Bm25Index.build(readCorpus(dir), { ...build, onProgress: progress ? (n) => progress(`indexed ${n} documents`) : undefined });
    return { index, built: true };
  });
}

/** A BM25 index as a first stage, with the search parameters the spec sets. */
class Bm25Retriever implements FirstStageRetriever {
  readonly corpusIndex: Bm25Index;

  constructor(
    private readonly opened: OpenedBm25,
    private readonly searchParams: Partial<Bm25Params>,
    /** The row that made it: `bm25` or `memory`. */
    readonly name = "bm25",
  ) {
    this.corpusIndex = opened.index;
  }

  search(query: QueryInput, k: number, options: SearchOptions = {}): Promise<Candidate[]> {
    return this.opened.index.search(query, k, { ...this.searchParams, ...options });
  }

  describe(): Record<string, unknown> {
    return describeBm25(this.name, this.opened, this.searchParams);
  }
}

/** What a BM25-backed first stage reports (`winnow eval --format json`'s `retriever`); `extra` holds a row's own settings. */
export function describeBm25(type: string, opened: OpenedBm25, searchParams: Partial<Bm25Params>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { index, folder, built } = opened;
  return {
    type,
    k1: searchParams.k1 ?? index.params.k1,
    b: searchParams.b ?? index.params.b,
    ...extra,
    index: folder ?? null,
    // Documents indexed by this run (null when a saved index was loaded).
    documents: built ? index.docCount : null,
  };
}

function params(spec: { k1?: number; b?: number }): Partial<Bm25Params> {
  const p: Partial<Bm25Params> = {};
  if (spec.k1 !== undefined) p.k1 = spec.k1;
  if (spec.b !== undefined) p.b = spec.b;
  return p;
}

/** Row `bm25`: a saved index, the context's index, or one built from a dataset. */
export async function createBm25Retriever(raw: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  const spec = raw as Bm25RetrieverSpec;
  const p = params(spec);
  const o = await openBm25Index(spec, context, p);
  // A built index already has the parameters; a loaded (or handed-in) one keeps its own unless the spec overrides them at search time.
  return new Bm25Retriever(o, o.built ? {} : p);
}

/** Row `memory`: BM25 over the spec's inline documents. */
export async function createMemoryRetriever(raw: RetrieverSpec, _context: RetrieverContext): Promise<FirstStageRetriever> {
  const spec = raw as MemoryRetrieverSpec;
  const documents: Document[] = spec.documents.map((d) => ({ id: d.id, text: d.text, ...(d.title ? { title: d.title } : {}), ...(d.metadata ? { metadata: d.metadata } : {}) }));
  const seen = new Set<string>();
  documents.forEach((d, i) => {
    if (seen.has(d.id)) throw new WinnowError("CONFIG_INVALID", `memory retriever: documents[${i}].id "${d.id}" appears twice`, { details: { field: `documents[${i}].id` } });
    seen.add(d.id);
  });
  const index = await Bm25Index.build(documents, params(spec));
  return new Bm25Retriever({ index, built: true }, {}, "memory");
}
