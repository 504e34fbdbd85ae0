import { NoSuchModelError, type ProviderV3 } from "@ai-sdk/provider";
import type { RerankerContext } from "../../core/reranker-spec.js";
import type { RerankerSource } from "../reranker-source.js";
import { WinnowRerankingModel } from "./winnow-reranking-model.js";

export interface WinnowProviderSettings {
  /** Handed to every reranker the provider builds (first-stage index, baseDir for relative model paths, logger). */
  context?: RerankerContext;
}

/** An AI SDK provider whose only models are rerankers (`winnow.reranking("learned")`). */
export interface WinnowProvider extends ProviderV3 {
  (source: RerankerSource): WinnowRerankingModel;
  reranking(source: RerankerSource): WinnowRerankingModel;
  rerankingModel(source: RerankerSource): WinnowRerankingModel;
}

/** Creates a provider in the AI SDK's style; `winnow` is one with default settings. */
export function createWinnow(settings: WinnowProviderSettings = {}): WinnowProvider {
  const reranking = (source: RerankerSource) => new WinnowRerankingModel(source, settings.context);
  const none = (modelType: "languageModel" | "embeddingModel" | "imageModel") => (modelId: string) => {
    throw new NoSuchModelError({ modelId, modelType, message: `winnow serves reranking models only (asked for ${modelType} "${modelId}")` });
  };
  return Object.assign(reranking, {
    specificationVersion: "v3" as const,
    reranking,
    rerankingModel: reranking,
    languageModel: none("languageModel"),
    embeddingModel: none("embeddingModel"),
    imageModel: none("imageModel"),
  });
}

export const winnow: WinnowProvider = createWinnow();
