import { WinnowError } from "../core/errors.js";
import type { ServerConfig } from "./config.js";
import type { ServerMetrics } from "./metrics.js";
import { ServedModel } from "./served-model.js";

/** The models one server answers for, looked up by the request's `model` (or its aliases). */
export class ServedModelSet {
  readonly all: ServedModel[];
  readonly defaultModel: ServedModel;
  private readonly byName = new Map<string, ServedModel>();
  private loading: Promise<void> | undefined;

  constructor(config: ServerConfig, metrics: ServerMetrics) {
    this.all = config.models.map((m) => new ServedModel(m.id, m.reranker, config.limits, config.batching, metrics, m.worker ?? true, m.cache));
    config.models.forEach((m, i) => {
      this.byName.set(m.id, this.all[i]);
      for (const a of m.aliases ?? []) this.byName.set(a, this.all[i]);
    });
    const d = config.models.findIndex((m) => m.default);
    this.defaultModel = this.all[d >= 0 ? d : 0];
  }

  get ready(): boolean {
    return this.all.every((m) => m.state === "ready");
  }

  /** Loads every model once (concurrently); rejects with the first failure. */
  loadAll(): Promise<void> {
    this.loading ??= Promise.all(this.all.map((m) => m.load())).then(() => undefined);
    return this.loading;
  }

  /** The model a request names; the default when it names none. */
  resolve(name: unknown): ServedModel {
    if (name === undefined || name === null || name === "") return this.defaultModel;
    const m = typeof name === "string" ? this.byName.get(name) : undefined;
    if (!m) {
      throw new WinnowError("MODEL_NOT_FOUND", `model: "${String(name)}" is not served here (available: ${[...this.byName.keys()].join(", ")})`, {
        details: { field: "model" },
      });
    }
    return m;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.all.map((m) => m.close()));
  }
}
