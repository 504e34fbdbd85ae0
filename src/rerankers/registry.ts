import { WinnowError } from "../core/errors.js";
import type { Reranker } from "../core/types.js";

/**
 * A reranker described as data, as it comes from CLI flags, a server config file
 * or a pipeline config: `type` picks the family, the rest is the family's options
 * (each family validates its own and names the bad field).
 */
export interface RerankerSpec {
  type: string;
  [option: string]: unknown;
}

export type RerankerFactory = (spec: RerankerSpec) => Promise<Reranker>;

interface Entry {
  description: string;
  /** Lazy so that, e.g., `winnow search` never loads ONNX Runtime. */
  load: () => Promise<RerankerFactory>;
}

/** The built-in families. Adding a backend is one row here; no caller changes. */
const builtins: Record<string, Entry> = {
  learned: { description: "LambdaMART over relevance features (shipped default: models/learned-default.json; offline, pure JS)", load: async () => (await import("./learned/factory.js")).createLearnedReranker },
  "cross-encoder": { description: "Hugging Face cross-encoder on ONNX Runtime (local folder or hub id)", load: async () => (await import("./cross-encoder/cross-encoder-factory.js")).createCrossEncoderReranker },
  cohere: { description: "Cohere rerank API (v2; -O apiVersion=v1 for v1)", load: async () => (await import("./api/api-reranker-factory.js")).createApiReranker },
  jina: { description: "Jina AI rerank API", load: async () => (await import("./api/api-reranker-factory.js")).createApiReranker },
  voyage: { description: "Voyage AI rerank API", load: async () => (await import("./api/api-reranker-factory.js")).createApiReranker },
  mixedbread: { description: "Mixedbread rerank API", load: async () => (await import("./api/api-reranker-factory.js")).createApiReranker },
  tei: { description: "Hugging Face text-embeddings-inference /rerank server", load: async () => (await import("./api/api-reranker-factory.js")).createApiReranker },
  infinity: { description: "Infinity /rerank server", load: async () => (await import("./api/api-reranker-factory.js")).createApiReranker },
  llm: { description: "LLM reranker over an OpenAI-compatible chat endpoint (listwise, pointwise, pairwise)", load: async () => (await import("./llm/llm-reranker-factory.js")).createLlmReranker },
};

const custom = new Map<string, Entry>();

/** Registers a reranker family under `type` (overrides a built-in of the same name). */
export function registerReranker(type: string, factory: RerankerFactory, description = ""): void {
  custom.set(type, { description, load: async () => factory });
}

export function rerankerTypes(): Array<{ type: string; description: string }> {
  const all = new Map<string, Entry>([...Object.entries(builtins), ...custom]);
  return [...all].map(([type, e]) => ({ type, description: e.description })).sort((a, b) => a.type.localeCompare(b.type));
}

export async function createReranker(spec: RerankerSpec): Promise<Reranker> {
  if (spec === null || typeof spec !== "object" || typeof spec.type !== "string") {
    throw new WinnowError("CONFIG_INVALID", "reranker spec needs a string `type`", { details: { field: "type" } });
  }
  // hasOwn: a type like "toString" must be unknown, not an Object.prototype member.
  const entry = custom.get(spec.type) ?? (Object.hasOwn(builtins, spec.type) ? builtins[spec.type] : undefined);
  if (!entry) {
    const known = rerankerTypes().map((t) => t.type).join(", ");
    throw new WinnowError("CONFIG_INVALID", `unknown reranker type "${spec.type}" (known: ${known || "none"})`, {
      details: { field: "type" },
    });
  }
  const factory = await entry.load();
  return factory(spec);
}
