import { resolve } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { Reranker } from "../../core/types.js";
import { EnglishAnalyzer } from "../../retrieval/analysis/english-analyzer.js";
import type { RerankerContext, RerankerSpec } from "../../core/reranker-spec.js";
import type { Bm25FeatureIndex } from "./corpus-view.js";
import { DEFAULT_LEARNED_MODEL_PATH } from "./default-model.js";
import { LearnedReranker } from "./learned-reranker.js";

function isFeatureIndex(x: unknown): x is Bm25FeatureIndex {
  const i = x as Partial<Bm25FeatureIndex> | null;
  return typeof i === "object" && i !== null && typeof i.termId === "function" && typeof i.documentTerms === "function" && typeof i.docFreq === "function";
}

/**
 * Registry factory for `{ type: "learned", model?: path, index?: Bm25Index | path of a saved index }`. Without
 * `model`, the shipped models/learned-default.json; without `index`, the first stage's
 * index from the context when it has BM25 statistics, else statistics come from the
 * candidate list (see docs/learned.md). Relative paths resolve against `context.baseDir`.
 */
export async function createLearnedReranker(spec: RerankerSpec, context: RerankerContext = {}): Promise<Reranker> {
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
    // server specs can give the reranker corpus statistics. Relative to the context's folder.
    if (spec.index.length === 0) {
      throw new WinnowError("CONFIG_INVALID", "learned reranker: `index` must be a saved BM25 index folder or a loaded Bm25Index", { details: { field: "index" } });
    }
    const { Bm25Index } = await import("../../retrieval/bm25/bm25-index.js");
    index = await Bm25Index.load(resolve(context.baseDir ?? ".", spec.index));
  } else if (spec.index !== undefined) {
    if (!isFeatureIndex(spec.index)) {
      throw new WinnowError("CONFIG_INVALID", "learned reranker: `index` must be a saved BM25 index folder (path) or a loaded Bm25Index (library API)", {
        details: { field: "index" },
      });
    }
    index = spec.index;
  } else if (isFeatureIndex(context.index)) {
    // The caller's first stage (a BM25 index): its statistics describe the corpus the candidates come from.
    index = context.index;
  }
  const model = spec.model === undefined ? DEFAULT_LEARNED_MODEL_PATH : resolve(context.baseDir ?? ".", spec.model as string);
  return LearnedReranker.load(model, {
    index,
    analyzer: index ? undefined : new EnglishAnalyzer(),
    name: typeof spec.name === "string" ? spec.name : undefined,
  });
}
