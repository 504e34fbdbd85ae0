import { WinnowError } from "../core/errors.js";
import type { RerankerContext, RerankerSpec } from "../core/reranker-spec.js";
import type { Reranker } from "../core/types.js";
import { createReranker } from "../rerankers/registry.js";

/**
 * What a framework adapter reranks with: a registry type (`"learned"`), a full spec
 * (`{ type: "cross-encoder", model }`) or a Reranker instance the caller built.
 */
export type RerankerSource = string | RerankerSpec | Reranker;

function isReranker(x: unknown): x is Reranker {
  return x !== null && typeof x === "object" && typeof (x as Reranker).rerank === "function";
}

/** The model id a framework shows for a source: the spec's model, else its type, else the reranker's name. */
export function sourceModelId(source: RerankerSource): string {
  if (typeof source === "string") return source;
  if (isReranker(source)) return source.name;
  return typeof source.model === "string" && source.model !== "" ? source.model : source.type;
}

/**
 * Builds the reranker on first use (frameworks construct their models synchronously;
 * loading a cross-encoder is not), once: concurrent first calls share one load, and a
 * failed load is retried by the next call rather than cached.
 */
export class LazyReranker {
  private loading: Promise<Reranker> | undefined;
  private readonly owned: boolean;

  constructor(
    private readonly source: RerankerSource,
    private readonly context: RerankerContext = {},
  ) {
    if (typeof source !== "string" && !isReranker(source) && (source === null || typeof source !== "object" || typeof source.type !== "string")) {
      throw new WinnowError("CONFIG_INVALID", "reranker: expected a registry type, a spec with a string `type`, or a Reranker", { details: { field: "reranker" } });
    }
    this.owned = !isReranker(source);
  }

  get(): Promise<Reranker> {
    if (isReranker(this.source)) return Promise.resolve(this.source);
    if (!this.loading) {
      const spec = typeof this.source === "string" ? { type: this.source } : this.source;
      this.loading = createReranker(spec, this.context).catch((err: unknown) => {
        this.loading = undefined;
        throw err;
      });
    }
    return this.loading;
  }

  /** Releases a reranker this adapter built; one the caller passed in stays the caller's to close. */
  async close(): Promise<void> {
    if (!this.owned || !this.loading) return;
    const r = await this.loading.catch(() => undefined);
    this.loading = undefined;
    await r?.close?.();
  }
}
