import { WinnowError, throwIfAborted } from "../../core/errors.js";
import type { BatchableReranker, BatchScorer, PrepareOptions, PreparedRequest } from "../../core/batch-scorer.js";
import { documentText, toCandidates, toQuery } from "../../core/inputs.js";
import { rankByScores, validateTopN } from "../../core/ranking.js";
import type { ScoreCache } from "../../core/score-cache.js";
import type { CandidateInput, QueryInput, RankedResult, RerankOptions } from "../../core/types.js";
import { MemoryScoreCache, type MemoryScoreCacheOptions } from "../../cache/memory-score-cache.js";
import { scoreCacheKeys } from "../../cache/score-cache-key.js";
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
export class CrossEncoderReranker implements BatchableReranker {
  readonly name: string;
  readonly batchScorer: BatchScorer<PairUnit>;
  private readonly options: CrossEncoderOptions;
  private readonly batchTokens: number;
  private readonly scoreKind: ScoreKind;
  private readonly calibration?: PlattCalibration;
  private readonly cache?: ScoreCache;
  private loaded?: LoadedCrossEncoder;
  private loading?: Promise<LoadedCrossEncoder>;

  constructor(options: CrossEncoderOptions) {
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
    if (options.cache === true) this.cache = new MemoryScoreCache();
    else if (options.cache && typeof (options.cache as ScoreCache).getMany === "function") this.cache = options.cache as ScoreCache;
    else if (options.cache && typeof options.cache === "object") this.cache = new MemoryScoreCache(options.cache as MemoryScoreCacheOptions);
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
    return this.cache?.stats();
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

  async rerank(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    const q = toQuery(query);
    const cands = toCandidates(candidates);
    validateTopN(options.topN);
    const asked = options.family?.["cross-encoder"]?.scores;
    const kind = asked === undefined ? this.scoreKind : checkScoreKind(asked, "scores");
    if (kind === "calibrated" && !this.calibration) {
      throw new WinnowError("CONFIG_INVALID", 'scores: "calibrated" needs the reranker to be created with `calibration`', { details: { field: "scores" } });
    }
    if (cands.length === 0) return [];
    throwIfAborted(options.signal);
    const texts = cands.map((c) => documentText(c.document));
    const m = await this.ready();

    const logits = new Float64Array(cands.length);
    const windows = new Int32Array(cands.length);
    const cached = new Uint8Array(cands.length);
    let todo = texts.map((_, i) => i);
    let keys: string[] | undefined;
    if (this.cache) {
      const w = this.windowing();
      // Windowing settings change the max over windows, so they are part of the identity.
      keys = scoreCacheKeys(`${this.id}|q${m.encoder.maxQueryTokens}|w${w.truncate ? 1 : w.maxChunksPerDoc}/${w.windowOverlap ?? "auto"}`, q.text, texts);
      const hits = await this.cache.getMany(keys);
      todo = [];
      hits.forEach((v, i) => {
        if (v === undefined) todo.push(i);
        else {
          logits[i] = v;
          cached[i] = 1;
        }
      });
    }
    if (todo.length > 0) {
      const prepared = await this.batchScorer.prepare(q.text, todo.map((i) => texts[i]), { signal: options.signal });
      const unitLogits = await this.batchScorer.scoreUnits(prepared.units, options.signal);
      const best = new Float64Array(todo.length).fill(-Infinity);
      for (let u = 0; u < prepared.units.length; u++) {
        const o = prepared.owner[u];
        if (unitLogits[u] > best[o]) best[o] = unitLogits[u];
        windows[todo[o]]++;
      }
      todo.forEach((i, k) => (logits[i] = best[k]));
      if (this.cache && keys) await this.cache.setMany(todo.map((i) => [keys![i], logits[i]] as const));
    }
    const scores = Array.from(logits, (l) => this.present(l, kind));
    return rankByScores(cands, scores, options, (i) => (cached[i] ? { logit: logits[i], windows: 0, cached: true } : { logit: logits[i], windows: windows[i] }));
  }

  async close(): Promise<void> {
    const m = this.loaded ?? (this.loading ? await this.loading.catch(() => undefined) : undefined);
    this.loaded = undefined;
    this.loading = undefined;
    await m?.session.close();
  }
}
