// `winnow/langchain`: Winnow rerankers as a LangChain.js document compressor. Needs the
// optional peer @langchain/core.
export { WinnowRerank, type WinnowRerankFields } from "./winnow-rerank.js";
export type { RerankerSource } from "../reranker-source.js";
