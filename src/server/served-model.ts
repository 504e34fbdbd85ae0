import { WinnowError, isWinnowError, throwIfAborted } from "../core/errors.js";
import { isBatchableReranker, type PrepareOptions, type PreparedRequest, type ScoringUnit, type TruncationDirection } from "../core/batch-scorer.js";
import type { Reranker } from "../core/types.js";
import type { RerankerSpec } from "../rerankers/registry.js";
import { ConcurrencyGate } from "./concurrency-gate.js";
import type { BatchingConfig, ServerLimits } from "./config.js";
import { DynamicBatcher, type BatchedScores } from "./dynamic-batcher.js";
import type { ServerMetrics } from "./metrics.js";
import { WorkerHostedModel } from "./worker-hosted-model.js";
import { MemoryScoreCache, type MemoryScoreCacheOptions } from "../cache/memory-score-cache.js";
import { scoreCacheKeys } from "../cache/score-cache-key.js";

export interface ScoreRequest {
  query: string;
  texts: readonly string[];
  maxChunksPerDoc?: number;
  maxTokensPerDoc?: number;
  truncate?: boolean;
  /** Which end of a long text truncation keeps (TEI's truncation_direction); "right" when absent. */
  truncationDirection?: TruncationDirection;
  signal: AbortSignal;
}

export interface ScoreOutcome {
  /** One per text: relevance in [0, 1] for batched models, the reranker's own score otherwise. */
  scores: number[];
  /** One per text: the raw logit (max over its windows) for batched models; equal to `scores` otherwise. */
  rawScores: number[];
  queueMs: number;
  tokenizeMs: number;
  inferenceMs: number;
  /** Tokens the model read; undefined when the reranker does not report them. */
  tokens: number | undefined;
  /** Scoring units (document windows) behind the scores. */
  units: number;
}

export type ModelState = "loading" | "ready" | "failed";

/** The batch-scorer operations, wherever the model lives (this thread or a worker). */
interface BatchBackend {
  /** The scorer's identity (model, revision, dtype, max length): part of every cache key. */
  id: string;
  maxBatchTokens: number;
  prepare(query: string, texts: readonly string[], options: PrepareOptions): Promise<PreparedRequest>;
  scoreUnits(units: readonly ScoringUnit[]): Promise<Float32Array>;
  normalizeMany(logits: number[]): Promise<number[]>;
}

/** A whole-request rerank returning one score per text, for models that cannot batch. */
type DirectBackend = (query: string, texts: readonly string[], signal: AbortSignal) => Promise<number[]>;

function isReranker(x: unknown): x is Reranker {
  return typeof x === "object" && x !== null && typeof (x as Reranker).rerank === "function";
}

/** Texts tokenized per step: small enough that other requests' work interleaves with a 1,000-document one. */
const TOKENIZE_SLICE = 32;

/**
 * Tokenization is synchronous, so a big request is prepared a slice at a time with a
 * setImmediate between slices, letting other requests' work run in between.
 */
async function prepareInSlices(backend: BatchBackend, req: ScoreRequest): Promise<PreparedRequest> {
  const options = {
    maxChunksPerDoc: req.maxChunksPerDoc,
    maxTokensPerDoc: req.maxTokensPerDoc,
    truncate: req.truncate,
    truncationDirection: req.truncationDirection,
    signal: req.signal,
  };
  if (req.texts.length <= TOKENIZE_SLICE) {
    throwIfAborted(req.signal);
    return backend.prepare(req.query, req.texts, options);
  }
  const units: ScoringUnit[] = [];
  const owner: number[] = [];
  let tokens = 0;
  let tokenizeMs = 0;
  for (let start = 0; start < req.texts.length; start += TOKENIZE_SLICE) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfAborted(req.signal);
    const part = await backend.prepare(req.query, req.texts.slice(start, start + TOKENIZE_SLICE), options);
    for (let u = 0; u < part.units.length; u++) {
      units.push(part.units[u]);
      owner.push(part.owner[u] + start);
    }
    tokens += part.tokens;
    tokenizeMs += part.tokenizeMs;
  }
  return { units, owner: Int32Array.from(owner), texts: req.texts.length, tokens, tokenizeMs };
}

/**
 * One model the server answers for. A reranker with a BatchScorer is scored through a
 * DynamicBatcher shared by every request; any other reranker is called per request
 * behind a ConcurrencyGate. Either way the queue is bounded and cancellable. A model
 * given as a spec lives in a worker thread (see model-worker.ts); an instance handed
 * in by library code runs on this thread.
 */
export class ServedModel {
  state: ModelState = "loading";
  loadError: unknown;
  /** The reranker's own name (its family), once loaded. */
  family: string | undefined;
  private batchBackend: BatchBackend | undefined;
  private directBackend: DirectBackend | undefined;
  private batcher: DynamicBatcher | undefined;
  private gate: ConcurrencyGate | undefined;
  private closeBackend: (() => Promise<void>) | undefined;

  constructor(
    readonly id: string,
    private readonly source: RerankerSpec | Reranker,
    private readonly limits: ServerLimits,
    private readonly batching: BatchingConfig,
    private readonly metrics: ServerMetrics,
    private readonly useWorker = true,
    private readonly cacheOptions: boolean | MemoryScoreCacheOptions = false,
  ) {}

  private cache: MemoryScoreCache | undefined;

  /** The family, for /v1/models. */
  get type(): string {
    return isReranker(this.source) ? this.source.name : this.source.type;
  }

  get batched(): boolean {
    return this.batcher !== undefined;
  }

  /** Whether the reranker runs in a worker thread. */
  get inWorker(): boolean {
    return !isReranker(this.source) && this.useWorker;
  }

  get queuedPairs(): number {
    return this.batcher?.queuedPairs ?? this.gate?.queuedPairs ?? 0;
  }

  /** Whether a typical request would get QUEUE_FULL now (checked before its body is read). */
  get likelyFull(): boolean {
    if (this.batcher) return this.batcher.likelyFull;
    return this.queuedPairs >= this.limits.maxQueuedPairs;
  }

  async load(): Promise<void> {
    try {
      if (isReranker(this.source) || !this.useWorker) {
        const { createReranker } = await import("../rerankers/registry.js");
        const reranker = isReranker(this.source) ? this.source : await createReranker(servedSpec(this.source));
        this.family = reranker.name;
        this.closeBackend = async () => reranker.close?.();
        if (isBatchableReranker(reranker)) {
          const scorer = reranker.batchScorer;
          this.batchBackend = {
            id: scorer.id,
            maxBatchTokens: scorer.maxBatchTokens,
            prepare: (q, t, o) => scorer.prepare(q, t, o),
            scoreUnits: (u) => scorer.scoreUnits(u),
            normalizeMany: async (l) => l.map((x) => scorer.normalize(x)),
          };
        } else {
          this.directBackend = async (query, texts, signal) => {
            const ranked = await reranker.rerank(query, texts, { returnDocuments: false, signal });
            const scores = new Array<number>(texts.length).fill(Number.NaN);
            for (const r of ranked) scores[r.index] = r.score;
            return scores;
          };
        }
      } else {
        const { model, info } = await WorkerHostedModel.load(servedSpec(this.source));
        // A worker that dies later takes the model down: /ready turns 503 and requests say why.
        model.onFailure = (err) => {
          if (this.state !== "ready") return;
          this.state = "failed";
          this.loadError = err;
        };
        this.family = info.name;
        this.closeBackend = () => model.close();
        if (info.batchable) {
          this.batchBackend = {
            id: info.id ?? this.id,
            maxBatchTokens: info.maxBatchTokens ?? 4096,
            prepare: (q, t, o) => model.prepare(q, t, o),
            scoreUnits: (u) => model.scoreUnits(u),
            normalizeMany: (l) => model.normalizeMany(l),
          };
        } else {
          this.directBackend = (query, texts, signal) => model.rerank(query, texts, signal);
        }
      }
      if (this.batchBackend && this.cacheOptions) {
        this.cache = new MemoryScoreCache(this.cacheOptions === true ? {} : this.cacheOptions);
      }
      if (this.batchBackend) {
        this.batcher = new DynamicBatcher(this.batchBackend, {
          maxBatchTokens: this.batching.maxBatchTokens ?? this.batchBackend.maxBatchTokens,
          maxBatchPairs: this.batching.maxBatchPairs,
          maxQueuedPairs: this.limits.maxQueuedPairs,
          // What would finish past its deadline is refused up front, not scored and then dropped.
          maxQueueMs: this.limits.requestTimeoutMs,
          // The worker runs passes in turn; a second one waiting there keeps it busy between them.
          passesInFlight: this.inWorker ? 2 : 1,
          observer: {
            onBatch: ({ pairs, requests, tokens }) => {
              this.metrics.batchPairs.observe({ model: this.id }, pairs);
              this.metrics.batchRequests.observe({ model: this.id }, requests);
              this.metrics.pairsScored.inc({ model: this.id }, pairs);
              this.metrics.tokens.inc({ model: this.id }, tokens);
            },
            onBatchError: () => this.metrics.batchErrors.inc({ model: this.id }),
            onWasted: (pairs) => this.metrics.pairsWasted.inc({ model: this.id }, pairs),
          },
        });
      } else {
        this.gate = new ConcurrencyGate(this.limits.maxConcurrentRequests, this.limits.maxQueuedPairs);
      }
      this.state = "ready";
    } catch (err) {
      this.state = "failed";
      this.loadError = err;
      throw err;
    }
  }

  async score(req: ScoreRequest): Promise<ScoreOutcome> {
    if (this.state !== "ready") {
      throw new WinnowError(
        this.state === "failed" ? "MODEL_LOAD_FAILED" : "MODEL_NOT_FOUND",
        this.state === "failed"
          ? `model "${this.id}" is unavailable: ${(this.loadError as Error)?.message ?? "it failed to load"}`
          : `model "${this.id}" is still loading; retry when /ready answers 200`,
        // 503 (not the code's 404/500): the model exists and the caller should retry later.
        { details: { field: "model", model: this.id, state: this.state, httpStatus: 503 } },
      );
    }
    return this.batcher && this.batchBackend ? this.scoreBatched(this.batcher, this.batchBackend, req) : this.scoreDirect(req);
  }

  private async scoreBatched(batcher: DynamicBatcher, backend: BatchBackend, req: ScoreRequest): Promise<ScoreOutcome> {
    const raw = new Array<number>(req.texts.length).fill(-Infinity);
    // Cached documents skip tokenization and the queue; keys fold in every setting that changes a score.
    let todo = req.texts.map((_, i) => i);
    let keys: string[] | undefined;
    if (this.cache) {
      const settings = `${backend.id}|c${req.maxChunksPerDoc ?? "-"}|m${req.maxTokensPerDoc ?? "-"}|t${req.truncate ? 1 : 0}|d${req.truncationDirection === "left" ? "l" : "r"}`;
      keys = scoreCacheKeys(settings, req.query, req.texts);
      const hits = await this.cache.getMany(keys);
      todo = [];
      hits.forEach((v, i) => (v === undefined ? todo.push(i) : (raw[i] = v)));
      this.metrics.cacheHits.inc({ model: this.id }, req.texts.length - todo.length);
      this.metrics.cacheMisses.inc({ model: this.id }, todo.length);
    }
    let prepared: PreparedRequest = { units: [], owner: new Int32Array(0), texts: 0, tokens: 0, tokenizeMs: 0 };
    let done: BatchedScores = { logits: new Float32Array(0), queueMs: 0, inferenceMs: 0, batches: 0 };
    if (todo.length > 0) {
      // Refuse before tokenizing when even one unit per text would overflow the queue
      // (under overload, rejecting must be cheap), and hold that space while tokenizing.
      const release = batcher.reserve(todo.length);
      const texts = todo.length === req.texts.length ? req.texts : todo.map((i) => req.texts[i]);
      try {
        prepared = await prepareInSlices(backend, { ...req, texts });
      } finally {
        release();
      }
      done = await batcher.submit(prepared.units, req.signal, { reserved: true });
      // A document split into windows scores as its best window (Cohere's and TEI's rule).
      for (let u = 0; u < prepared.units.length; u++) {
        const t = todo[prepared.owner[u]];
        if (done.logits[u] > raw[t]) raw[t] = done.logits[u];
      }
      if (this.cache && keys) await this.cache.setMany(todo.map((i) => [keys![i], raw[i]] as const));
    }
    return {
      scores: await backend.normalizeMany(raw),
      rawScores: raw,
      queueMs: done.queueMs,
      tokenizeMs: prepared.tokenizeMs,
      inferenceMs: done.inferenceMs,
      tokens: prepared.tokens,
      units: prepared.units.length,
    };
  }

  private async scoreDirect(req: ScoreRequest): Promise<ScoreOutcome> {
    const waitStart = performance.now();
    const release = await this.gate!.acquire(req.texts.length, req.signal);
    const queueMs = performance.now() - waitStart;
    const start = performance.now();
    try {
      const scores = await this.directBackend!(req.query, req.texts, req.signal);
      throwIfAborted(req.signal);
      this.metrics.pairsScored.inc({ model: this.id }, req.texts.length);
      return { scores, rawScores: scores, queueMs, tokenizeMs: 0, inferenceMs: performance.now() - start, tokens: undefined, units: req.texts.length };
    } catch (err) {
      if (isWinnowError(err)) throw err;
      throw new WinnowError("INTERNAL", `model "${this.id}" failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      release();
    }
  }

  /** Fails waiting work and releases the reranker (and its worker thread). */
  async close(): Promise<void> {
    this.batcher?.close();
    await this.closeBackend?.();
  }
}

/**
 * A spec as the server loads it: cross-encoders default to `spinWait: false`, because
 * the HTTP thread (parsing, tokenizing hand-offs, refusing floods) needs a core now and
 * then, and spinning ONNX Runtime threads stall every parallel op while one of them is
 * descheduled (measured: 37 vs 22 ms per pair with one core busy; see pair-session.ts).
 */
export function servedSpec(spec: RerankerSpec): RerankerSpec {
  return spec.type === "cross-encoder" && spec.spinWait === undefined ? { ...spec, spinWait: false } : spec;
}
