import { WinnowError } from "../../core/errors.js";
import { documentText } from "../../core/inputs.js";
import { RerankerBase, type RerankerEvents, type ScoringCall, type ScoringOutcome } from "../../core/reranker-base.js";
import type { ScoreCache } from "../../core/score-cache.js";
import { MemoryScoreCache, type MemoryScoreCacheOptions } from "../../cache/memory-score-cache.js";
import { ColbertEncoder, type ColbertModelOptions } from "./colbert-encoder.js";
import { maxSim } from "./maxsim.js";
import type { TokenMatrix } from "./token-matrix.js";

/**
 * Document token vectors stored ahead of time (a `winnow index --colbert` store): the
 * reranker reads them instead of encoding. `vectors` answers undefined for a document it
 * does not hold or whose text changed since it was stored; those are encoded.
 */
export interface StoredTokenVectors {
  /** The encoder identity the vectors were made with; must equal the reranker's. */
  readonly modelIdentity: string;
  readonly dims: number;
  /** Where it lives, for messages. */
  readonly path: string;
  vectors(id: string, text: string): TokenMatrix | undefined;
  close?(): void;
}

export interface ColbertOptions extends ColbertModelOptions {
  /** Score cache: an instance, LRU settings, or true (default LRU); default none. */
  cache?: ScoreCache | MemoryScoreCacheOptions | boolean;
  /** Stored document vectors to read instead of encoding. */
  store?: StoredTokenVectors;
  events?: RerankerEvents;
}

function resolveCache(cache: ColbertOptions["cache"]): ScoreCache | undefined {
  if (cache === true) return new MemoryScoreCache();
  if (cache && typeof (cache as ScoreCache).getMany === "function") return cache as ScoreCache;
  if (cache && typeof cache === "object") return new MemoryScoreCache(cache as MemoryScoreCacheOptions);
  return undefined;
}

/**
 * Late interaction (ColBERT): the query and each document are encoded separately into
 * one vector per token and scored by MaxSim. Pointwise: a document's score depends on
 * the query and the document only, so scores are cached and calls split freely. With a
 * store, documents cost no forward pass at all (only the query does).
 */
export class ColbertReranker extends RerankerBase {
  readonly name: string;
  readonly scoring = "pointwise";
  private constructor(
    readonly encoder: ColbertEncoder,
    private readonly store: StoredTokenVectors | undefined,
    options: ColbertOptions,
  ) {
    super({ cache: resolveCache(options.cache), events: options.events });
    this.name = `colbert:${options.model}`;
  }

  static async load(options: ColbertOptions): Promise<ColbertReranker> {
    if (options === null || typeof options !== "object" || typeof options.model !== "string" || options.model.trim() === "") {
      throw new WinnowError("CONFIG_INVALID", "colbert needs `model`: a hub id or a ColBERT model folder", { details: { field: "model" } });
    }
    const encoder = await ColbertEncoder.load(options);
    const store = options.store;
    if (store && (store.modelIdentity !== encoder.identity || store.dims !== encoder.dims)) {
      await encoder.close();
      throw new WinnowError("CONFIG_INVALID", `${store.path}: token vectors were stored with ${store.modelIdentity} (${store.dims} dims), not ${encoder.identity} (${encoder.dims} dims); rebuild it with \`winnow index --colbert\``, {
        details: { field: "store", path: store.path },
      });
    }
    return new ColbertReranker(encoder, store, options);
  }

  /** Whether document vectors come from a store (no document encoding). */
  get usesStore(): boolean {
    return this.store !== undefined;
  }

  protected override cacheIdentity(): string {
    // Stored vectors may be compressed: their scores are not the encoder's own.
    return `${this.encoder.identity}|${this.store ? `store:${this.store.path}` : "encoded"}`;
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    const query = await this.encoder.encodeQuery(call.query.text, call.signal);
    const texts = call.candidates.map((c) => documentText(c.document));
    const matrices = new Array<TokenMatrix | undefined>(texts.length);
    const missing: number[] = [];
    texts.forEach((t, i) => {
      const stored = this.store?.vectors(call.candidates[i].document.id, t);
      if (stored) matrices[i] = stored;
      else missing.push(i);
    });
    if (missing.length > 0) {
      const encoded = await this.encoder.encodeDocuments(missing.map((i) => texts[i]), call.signal);
      missing.forEach((i, k) => (matrices[i] = encoded[k]));
    }
    const scores = new Float64Array(texts.length);
    for (let i = 0; i < texts.length; i++) {
      const m = matrices[i]!;
      scores[i] = maxSim(query, m.data, m.rows);
    }
    const encodedHere = new Set(missing);
    const warnings = this.store && missing.length > 0 ? [`colbert: ${missing.length} of ${texts.length} candidates were not in the store ${this.store.path} (or changed since): encoded on the fly`] : undefined;
    return {
      scores,
      details: (i) => ({ tokens: matrices[i]!.rows, stored: this.store !== undefined && !encodedHere.has(i) }),
      warnings,
    };
  }

  override async close(): Promise<void> {
    this.store?.close?.();
    await this.encoder.close();
  }
}
