// Public library API. Each area exports from its own module; keep this file a list.
export * from "./core/errors.js";
export * from "./core/types.js";
export * from "./core/inputs.js";
export * from "./core/ranking.js";
export * from "./rerankers/registry.js";
export * from "./core/batch-scorer.js";
export * from "./core/score-cache.js";
