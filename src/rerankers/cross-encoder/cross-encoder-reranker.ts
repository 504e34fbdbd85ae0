import { WinnowError, throwIfAborted } from "../../core/errors.js";
import { RerankerBase, stableJson, type RerankerEvents, type ScoringCall, type ScoringOutcome } from "../../core/reranker-base.js";
import type { BatchableReranker, BatchScorer, PrepareOptions, PreparedRequest } from "../../core/batch-scorer.js";
import { documentText } from "../../core/inputs.js";
import type { ScoreCache } from "../../core/score-cache.js";
import { MemoryScoreCache, type MemoryScoreCacheOptions } from "../../cache/memory-score-cache.js";
import { planBatches } from "./batch-plan.js";
import { applyCalibration, loadCalibration, sigmoid, type PlattCalibration } from "./calibration.js";
import { loadCrossEncoder, type CrossEncoderModelOptions, type LoadedCrossEncoder } from "./load-model.js";
import { DEFAULT_MAX_CHUNKS_PER_DOC, type PairUnit } from "./pair-encoder.js";

import type { ScoreKind } from "./cross-encoder-call-options.js";

export type { CrossEncoderCallOptions, ScoreKind } from "./cross-encoder-call-options.js";

export interface CrossEncoderOptions extends Omit<CrossEncoderModelOptions, "signal"> {
  /** Padded tokens (rows × longest row) per forward pass; bounds memory per batch. */
  batchTokens?: number;
  /** Score cache: an instance (memory, Redis…), LRU settings, or false (default: none). */
  cache?: ScoreCache | MemoryScoreCacheOptions | boolean;
  /** Which number is `score`: the model's activation (default), the raw logit, or calibrated. */
  scores?: ScoreKind;
  /** Platt mapping from `winnow calibrate` (file path or object); needed for scores: "calibrated". */
  calibration?: string | PlattCalibration;
  maxChunksPerDoc?: number;
  windowOverlap?: number;
  /** Truncate long documents to one window instead of scoring several. */
  truncate?: boolean;
  /** Receives each call's warnings. */
  events?: RerankerEvents;
}

/** `cache` as given: an instance, LRU settings, true (default LRU) or nothing. */
function resolveCache(cache: CrossEncoderOptions["cache"]): ScoreCache | undefined {
  if (cache === true) return new MemoryScoreCache();
  if (cache && typeof (cache as ScoreCache).getMany === "function") return cache as ScoreCache;
  if (cache && typeof cache === "object") return new MemoryScoreCache(cache as MemoryScoreCacheOptions);
  return undefined;
}

/**
 * Chosen with `npm run bench:rerank -- --sweep --all-workloads` on the generated
 * MiniLM-L6 (2 cores, quiet machine): int8 pairs/s at 256 / 512 / 1024 / 2048 tokens
 * were 61 / 64 / 59 / 53 on SciFact BM25 top-100 (pairs up to 512 tokens) and 104 / 106
 * / 104 / 84 on 256-token passages, with peak RSS 263 / 262 / 320 / 447 MB. Bigger
 * batches lose: the attention scores (rows × heads × L²) stop fitting in cache, and
 * memory grows with them. 512 is the fastest and among the smallest; short pairs still
 * share a pass (ten 50-token pairs fit).
 */
export const DEFAULT_BATCH_TOKENS = 512;

/** Reduces one output row to a single relevance logit: 2-label models give log-odds of label 1. */
function rowLogit(out: Float32Array, row: number, numLabels: number): number {
  return numLabels === 1 ? out[row] : out[row * 2 + 1] - out[row * 2];
}

function checkScoreKind(v: unknown, field: string): ScoreKind {
  if (v !== "normalized" && v !== "logit" && v !== "calibrated") {
    throw new WinnowError("CONFIG_INVALID", `${field} must be "normalized", "logit" or "calibrated", got ${JSON.stringify(v)}`, { details: { field } });
  }
  return v;
}

/**
 * A Hugging Face sequence-classification cross-encoder on ONNX Runtime: reads the
 * query and each candidate together and scores their relevance. Create with
 * `await CrossEncoderReranker.load(options)` (or `new` + lazy load on first use);
 * `close()` releases the native session.
 */
export class CrossEncoderReranker extends RerankerBase implements BatchableReranker {
  readonly name: string;
  readonly scoring = "pointwise";
  readonly batchScorer: BatchScorer<PairUnit>;
  private readonly options: CrossEncoderOptions;
  private readonly batchTokens: number;
  private readonly scoreKind: ScoreKind;
  private readonly calibration?: PlattCalibration;
  private loaded?: LoadedCrossEncoder;
  private loading?: Promise<LoadedCrossEncoder>;

  constructor(options: CrossEncoderOptions) {
    super({ cache: resolveCache(options?.cache), events: options?.events });
    if (options === null || typeof options !== "object" || typeof options.model !== "string" || options.model.trim() === "") {
      throw new WinnowError("CONFIG_INVALID", "cross-encoder needs `model`: a hub id or a model folder", { details: { field: "model" } });
    }
    this.options = { ...options };
    this.name = `cross-encoder:${options.model}`;
    this.batchTokens = options.batchTokens ?? DEFAULT_BATCH_TOKENS;
    if (!Number.isInteger(this.batchTokens) || this.batchTokens < 8) {
      throw new WinnowError("CONFIG_INVALID", `batchTokens must be an integer ≥ 8, got ${String(options.batchTokens)}`, { details: { field: "batchTokens", min: 8 } });
    }
    this.scoreKind = checkScoreKind(options.scores ?? "normalized", "scores");
    if (options.calibration !== undefined) this.calibration = loadCalibration(options.calibration);
    if (this.scoreKind === "calibrated" && !this.calibration) {
      throw new WinnowError("CONFIG_INVALID", 'scores: "calibrated" needs `calibration` (a file from `winnow calibrate`)', { details: { field: "calibration" } });
    }
    this.batchScorer = this.makeBatchScorer();
  }

  /** Loads the model (downloading it if needed and allowed) and returns a ready reranker. */
  static async load(options: CrossEncoderOptions): Promise<CrossEncoderReranker> {
    const r = new CrossEncoderReranker(options);
    await r.ready();
    return r;
  }

  /** Resolves once the model is loaded; safe to call many times. */
  async ready(): Promise<LoadedCrossEncoder> {
    if (this.loaded) return this.loaded;
    this.loading ??= loadCrossEncoder(this.options).then(
      (m) => (this.loaded = m),
      (err) => {
        this.loading = undefined; // a later call may retry (e.g. after the model was fetched)
        throw err;
      },
    );
    return this.loading;
  }

  /** Model id + revision + dtype + max length: what makes two scores comparable. */
  get id(): string {
    const m = this.loaded;
    if (!m) throw new WinnowError("INTERNAL", "cross-encoder not loaded yet: await reranker.ready() or CrossEncoderReranker.load()");
    // A local requantization is not the published int8 graph, so its scores get their own id
    // (ONNX Runtime's load-time s8→u8 conversion computes the same integers: same id).
    const variant = m.int8?.how === "requantized" ? `+requantized-${m.int8.recommended}` : m.int8?.how === "kept-unsafe" ? "+inexact" : "";
    return `${m.source.id}@${m.source.revision}/${m.dtype}${variant}/${m.maxLength}`;
  }

  get model(): LoadedCrossEncoder | undefined {
    return this.loaded;
  }

  get cacheStats() {
    return this.scoreCache?.stats();
  }

  private windowing(): { maxChunksPerDoc: number; windowOverlap?: number; truncate: boolean } {
    return {
      maxChunksPerDoc: this.options.maxChunksPerDoc ?? DEFAULT_MAX_CHUNKS_PER_DOC,
      windowOverlap: this.options.windowOverlap,
      truncate: this.options.truncate ?? false,
    };
  }

  private makeBatchScorer(): BatchScorer<PairUnit> {
    const self = this;
    return {
      get id() {
        return self.id;
      },
      get maxBatchTokens() {
        return self.batchTokens;
      },
      async prepare(query: string, texts: readonly string[], options: PrepareOptions = {}): Promise<PreparedRequest<PairUnit>> {
        const m = await self.ready();
        const w = self.windowing();
        const t0 = performance.now();
        const enc = m.encoder.encode(query, texts, {
          maxChunksPerDoc: options.maxChunksPerDoc ?? w.maxChunksPerDoc,
          windowOverlap: w.windowOverlap,
          truncate: options.truncate ?? w.truncate,
          maxTokensPerDoc: options.maxTokensPerDoc,
          truncationDirection: options.truncationDirection,
          signal: options.signal,
        });
        return { units: enc.units, owner: enc.owner, texts: texts.length, tokens: enc.tokens, tokenizeMs: performance.now() - t0 };
      },
      scoreUnits: (units, signal) => self.scoreUnits(units, signal),
      normalize: (logit: number) => sigmoid(logit),
    };
  }

  /** One relevance logit per unit, running the units in token-budget batches (longest first). */
  private async scoreUnits(units: readonly PairUnit[], signal?: AbortSignal): Promise<Float32Array> {
    const m = await this.ready();
    const logits = new Float32Array(units.length);
    const batches = planBatches(units.map((u) => u.tokens), this.batchTokens);
    for (const batch of batches) {
      throwIfAborted(signal);
      const out = await m.session.run(units, batch);
      for (let r = 0; r < batch.length; r++) logits[batch[r]] = rowLogit(out, r, m.numLabels);
    }
    return logits;
  }

  private present(logit: number, kind: ScoreKind): number {
    if (kind === "logit") return logit;
    if (kind === "calibrated") return applyCalibration(this.calibration!, logit);
    return sigmoid(logit);
  }

  /** A call's windowing: the reranker's settings under the call's `family["cross-encoder"]` options. */
  private callWindowing(call: ScoringCall): Omit<PrepareOptions, "signal"> {
    const w = this.windowing();
    const o = call.options.family?.["cross-encoder"] ?? {};
    return {
      maxChunksPerDoc: o.maxChunksPerDoc ?? w.maxChunksPerDoc,
      truncate: o.truncate ?? w.truncate,
      maxTokensPerDoc: o.maxTokensPerDoc,
      truncationDirection: o.truncationDirection,
    };
  }

  private callScoreKind(call: ScoringCall): ScoreKind {
    return call.options.family?.["cross-encoder"]?.scores ?? this.scoreKind;
  }

  protected override checkCall(call: ScoringCall): void {
    const o: unknown = call.options.family?.["cross-encoder"];
    if (o === undefined) return;
    if (o === null || typeof o !== "object") {
      throw new WinnowError("INVALID_INPUT", 'family["cross-encoder"] must be an object', { details: { field: 'family["cross-encoder"]' } });
    }
    const f = o as Record<string, unknown>;
    const known = new Set(["scores", "maxChunksPerDoc", "truncate", "maxTokensPerDoc", "truncationDirection"]);
    for (const k of Object.keys(f)) {
      if (!known.has(k)) throw new WinnowError("INVALID_INPUT", `family["cross-encoder"].${k}: unknown option (known: ${[...known].join(", ")})`, { details: { field: `family["cross-encoder"].${k}` } });
    }
    if (f.scores !== undefined) {
      const kind = checkScoreKind(f.scores, "scores");
      if (kind === "calibrated" && !this.calibration) {
        throw new WinnowError("CONFIG_INVALID", 'scores: "calibrated" needs the reranker to be created with `calibration`', { details: { field: "scores" } });
      }
    }
    for (const k of ["maxChunksPerDoc", "maxTokensPerDoc"] as const) {
      const v = f[k];
      if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1)) {
        throw new WinnowError("INVALID_INPUT", `family["cross-encoder"].${k} must be a positive integer, got ${String(v)}`, { details: { field: `family["cross-encoder"].${k}` } });
      }
    }
    if (f.truncate !== undefined && typeof f.truncate !== "boolean") {
      throw new WinnowError("INVALID_INPUT", `family["cross-encoder"].truncate must be a boolean`, { details: { field: 'family["cross-encoder"].truncate' } });
    }
    if (f.truncationDirection !== undefined && f.truncationDirection !== "right" && f.truncationDirection !== "left") {
      throw new WinnowError("INVALID_INPUT", `family["cross-encoder"].truncationDirection must be "right" or "left"`, { details: { field: 'family["cross-encoder"].truncationDirection' } });
    }
  }

  /** Model id + revision + dtype + max length, query token cap, the call's windowing and score kind. */
  protected override async cacheIdentity(call: ScoringCall): Promise<string> {
    const m = await this.ready();
    const w = this.callWindowing(call);
    const windows = w.truncate ? "t" : `${w.maxChunksPerDoc}/${this.options.windowOverlap ?? "auto"}`;
    // Calibrated scores change with the calibration, so its parameters are part of the identity.
    const kind = this.callScoreKind(call);
    const scale = kind === "calibrated" ? `:${stableJson(this.calibration)}` : "";
    return `${this.id}|q${m.encoder.maxQueryTokens}|w${windows}|d${w.maxTokensPerDoc ?? "-"}${w.truncationDirection ?? "right"}|s${kind}${scale}`;
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    const kind = this.callScoreKind(call);
    const texts = call.candidates.map((c) => documentText(c.document));
    const prepared = await this.batchScorer.prepare(call.query.text, texts, { ...this.callWindowing(call), signal: call.signal });
    const unitLogits = await this.batchScorer.scoreUnits(prepared.units, call.signal);
    // A long document is scored in windows; its score is its best window's.
    const best = new Float64Array(texts.length).fill(-Infinity);
    const windows = new Int32Array(texts.length);
    for (let u = 0; u < prepared.units.length; u++) {
      const o = prepared.owner[u];
      if (unitLogits[u] > best[o]) best[o] = unitLogits[u];
      windows[o]++;
    }
    return {
      scores: Array.from(best, (l) => this.present(l, kind)),
      details: (i) => ({ logit: best[i], windows: windows[i] }),
    };
  }

  override async close(): Promise<void> {
    const m = this.loaded ?? (this.loading ? await this.loading.catch(() => undefined) : undefined);
    this.loaded = undefined;
    this.loading = undefined;
    await m?.session.close();
  }
}
