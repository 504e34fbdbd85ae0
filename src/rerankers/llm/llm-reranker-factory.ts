import type { RerankerContext, RerankerSpec } from "../../core/reranker-spec.js";
import { LlmReranker, type LlmRerankerOptions } from "./llm-reranker.js";

/**
 * Builds an LlmReranker from a registry spec (`--reranker llm --base-url … --model …
 * -O mode=pairwise`). Shared CLI flags that mean nothing here (`offline`, `dtype`) are
 * ignored; any other unknown key is rejected by name.
 */
export async function createLlmReranker(spec: RerankerSpec, _context: RerankerContext = {}): Promise<LlmReranker> {
  const { type: _type, offline: _offline, dtype: _dtype, ...options } = spec;
  return new LlmReranker(options as unknown as LlmRerankerOptions);
}
