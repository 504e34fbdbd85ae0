import { resolve } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { Reranker } from "../../core/types.js";
import { EnglishAnalyzer } from "../../retrieval/analysis/english-analyzer.js";
import type { RerankerSpec } from "../registry.js";
import type { Bm25FeatureIndex } from "./corpus-view.js";
import { DEFAULT_LEARNED_MODEL_PATH } from "./default-model.js";
import { LearnedReranker } from "./learned-reranker.js";

function isFeatureIndex(x: unknown): x is Bm25FeatureIndex {
  const i = x as Partial<Bm25FeatureIndex> | null;
  return typeof i === "object" && i !== null && typeof i.termId === "function" && typeof i.documentTerms === "function" && typeof i.docFreq === "function";
}

/**
 * Registry factory for `{ type: "learned", model?: path, index?: Bm25Index | path of a saved index }`. Without
 * `model`, the shipped models/learned-default.json; without `index`, corpus statistics
 * come from the candidate list (see docs/learned.md).
 */
export async function createLearnedReranker(spec: RerankerSpec): Promise<Reranker> {
  const known = new Set(["type", "model", "index", "offline", "name"]);
  for (const key of Object.keys(spec)) {
    if (!known.has(key)) {
      throw new WinnowError("CONFIG_INVALID", `learned reranker: unknown option "${key}" (known: model, index)`, { details: { field: key } });
    }
  }
  if (spec.model !== undefined && (typeof spec.model !== "string" || spec.model.length === 0)) {
    throw new WinnowError("CONFIG_INVALID", "learned reranker: `model` must be a path to a model JSON file", { details: { field: "model" } });
  }
  let index: Bm25FeatureIndex | undefined;
  if (typeof spec.index === "string") {
    // A saved index folder (`winnow index` / Bm25Index.save), so JSON/YAML pipeline and
    // server specs can give the reranker corpus statistics. Relative to the working directory.
    if (spec.index.length === 0) {
      throw new WinnowError("CONFIG_INVALID", "learned reranker: `index` must be a saved BM25 index folder or a loaded Bm25Index", { details: { field: "index" } });
    }
    const { Bm25Index } = await import("../../retrieval/bm25/bm25-index.js");
    index = await Bm25Index.load(resolve(spec.index));
  } else if (spec.index !== undefined) {
    if (!isFeatureIndex(spec.index)) {
      throw new WinnowError("CONFIG_INVALID", "learned reranker: `index` must be a saved BM25 index folder (path) or a loaded Bm25Index (library API)", {
        details: { field: "index" },
      });
    }
    index = spec.index;
  }
  return LearnedReranker.load((spec.model as string | undefined) ?? DEFAULT_LEARNED_MODEL_PATH, {
    index,
    analyzer: index ? undefined : new EnglishAnalyzer(),
    name: typeof spec.name === "string" ? spec.name : undefined,
  });
}
