import type { ScoreCache } from "../core/score-cache.js";
import { WinnowError } from "../core/errors.js";
import { CATCH_ALL_ALIAS, type ServerConfig } from "./config.js";
import type { ServerMetrics } from "./metrics.js";
import { ServedModel } from "./served-model.js";

/** The models one server answers for, looked up by the request's `model` (or its aliases). */
export class ServedModelSet {
  readonly all: ServedModel[];
  /** Undefined only when the server serves no models (a pipeline alone). */
  readonly defaultModel: ServedModel | undefined;
  private readonly byName = new Map<string, ServedModel>();
  /** The model for names nothing else claims (`aliases: { "*": id }`); none by default. */
  private catchAll: ServedModel | undefined;
  private loading: Promise<void> | undefined;

  /** `sharedCache`: the server's Redis score cache, used by every batched model whose `cache` is not false. */
  constructor(config: ServerConfig, metrics: ServerMetrics, sharedCache?: ScoreCache) {
    this.all = config.models.map((m) => new ServedModel(m.id, m.reranker, config.limits, config.batching, metrics, m.worker ?? true, m.cache === false || !sharedCache ? m.cache : sharedCache));
    config.models.forEach((m, i) => {
      this.byName.set(m.id, this.all[i]);
      for (const a of m.aliases ?? []) this.byName.set(a, this.all[i]);
    });
    // resolveServerConfig checked that every alias names a model id and clashes with no other name.
    for (const [name, target] of Object.entries(config.aliases ?? {})) {
      const model = this.all[config.models.findIndex((m) => m.id === target)];
      if (name === CATCH_ALL_ALIAS) this.catchAll = model;
      else this.byName.set(name, model);
    }
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

  /** Every alias of a model (its own `aliases` and the top-level ones naming it). */
  aliasesOf(model: ServedModel): string[] {
    const names = [...this.byName].filter(([name, m]) => m === model && name !== model.id).map(([name]) => name);
    return this.catchAll === model ? [...names, CATCH_ALL_ALIAS] : names;
  }

  /** The model a request names; the default when it names none. */
  resolve(name: unknown): ServedModel {
    const defaultModel = this.defaultModel;
    if (!defaultModel) {
      throw new WinnowError("MODEL_NOT_FOUND", "this server serves no rerank models (only a pipeline, at POST /v1/search)", { details: { field: "model" } });
    }
    if (name === undefined || name === null || name === "") return defaultModel;
    const m = typeof name === "string" ? (this.byName.get(name) ?? this.catchAll) : undefined;
    if (!m) {
      throw new WinnowError(
        "MODEL_NOT_FOUND",
        `model: "${String(name)}" is not served here (available: ${[...this.byName.keys()].join(", ")}); to accept it, alias it to a model (\`--alias ${String(name)}=${defaultModel.id}\`, or \`aliases\` in the server config)`,
        { details: { field: "model" } },
      );
    }
    return m;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.all.map((m) => m.close()));
  }
}
