// `winnow/llamaindex`: Winnow rerankers as a LlamaIndex.TS node postprocessor. Needs the
// optional peer @llamaindex/core (installed with `llamaindex`).
export { WinnowNodePostprocessor, type WinnowNodePostprocessorOptions } from "./winnow-node-postprocessor.js";
export type { RerankerSource } from "../reranker-source.js";
