// `winnow/ai-sdk`: Winnow rerankers as Vercel AI SDK reranking models (spec v3, for `rerank()`
// of package `ai`). Needs the optional peer @ai-sdk/provider (installed with `ai`).
export { WinnowRerankingModel, type WinnowRerankProviderOptions } from "./winnow-reranking-model.js";
export { createWinnow, winnow, type WinnowProvider, type WinnowProviderSettings } from "./winnow-provider.js";
export type { RerankerSource } from "../reranker-source.js";
