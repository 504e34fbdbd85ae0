import { WinnowError } from "../../core/errors.js";
import type { RerankerContext, RerankerSpec } from "../../core/reranker-spec.js";
import { ApiReranker } from "./api-reranker.js";
import type { ProviderName } from "./providers.js";

/**
 * Builds an ApiReranker from a registry spec: `type` names the provider
 * (`cohere`, `jina`, `voyage`, `mixedbread`, `tei`, `infinity`, `vllm`, `vllm-score`,
 * `llama-cpp`); Cohere takes
 * `apiVersion: "v1" | "v2"` (default v2). Flags shared by all families that mean
 * nothing to a hosted API (`offline`, `dtype`) are ignored; any other unknown key is
 * rejected by name.
 */
export async function createApiReranker(spec: RerankerSpec, _context: RerankerContext = {}): Promise<ApiReranker> {
  const { type, apiVersion, offline: _offline, dtype: _dtype, ...options } = spec;
  let provider = type as ProviderName;
  if (apiVersion !== undefined) {
    if (type !== "cohere" || (apiVersion !== "v1" && apiVersion !== "v2")) {
      throw new WinnowError("CONFIG_INVALID", `${type} reranker option \`apiVersion\`: only cohere takes it, as "v1" or "v2"`, {
        details: { field: "apiVersion" },
      });
    }
    if (apiVersion === "v1") provider = "cohere-v1";
  }
  return new ApiReranker({ ...options, provider } as ConstructorParameters<typeof ApiReranker>[0]);
}
