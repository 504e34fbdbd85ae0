import { WinnowError, isWinnowError, throwIfAborted } from "../core/errors.js";
import { isBatchableReranker, type BatchScorer, type PreparedRequest, type ScoringUnit } from "../core/batch-scorer.js";
import type { Reranker } from "../core/types.js";
import { createReranker, type RerankerSpec } from "../rerankers/registry.js";
import { ConcurrencyGate } from "./concurrency-gate.js";
import type { BatchingConfig, ServerLimits } from "./config.js";
import { DynamicBatcher } from "./dynamic-batcher.js";
import type { ServerMetrics } from "./metrics.js";

export interface ScoreRequest {
  query: string;
  texts: readonly string[];
  maxChunksPerDoc?: number;
  maxTokensPerDoc?: number;
  truncate?: boolean;
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

/** Texts tokenized per event-loop turn: small enough that /health never waits long behind a 1,000-document request. */
const TOKENIZE_SLICE = 32;

/**
 * Tokenization is synchronous JS, so a big request is prepared a slice at a time
 * with a setImmediate between slices, letting other requests' I/O run in between.
 */
async function prepareInSlices(scorer: BatchScorer, req: ScoreRequest): Promise<PreparedRequest> {
  const options = { maxChunksPerDoc: req.maxChunksPerDoc, maxTokensPerDoc: req.maxTokensPerDoc, truncate: req.truncate, signal: req.signal };
  if (req.texts.length <= TOKENIZE_SLICE) {
    throwIfAborted(req.signal);
    return scorer.prepare(req.query, req.texts, options);
  }
  const units: ScoringUnit[] = [];
  const owner: number[] = [];
  let tokens = 0;
  let tokenizeMs = 0;
  for (let start = 0; start < req.texts.length; start += TOKENIZE_SLICE) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfAborted(req.signal);
    const part = await scorer.prepare(req.query, req.texts.slice(start, start + TOKENIZE_SLICE), options);
    for (let u = 0; u < part.units.length; u++) {
      units.push(part.units[u]);
      owner.push(part.owner[u] + start);
    }
    tokens += part.tokens;
    tokenizeMs += part.tokenizeMs;
  }
  return { units, owner: Int32Array.from(owner), texts: req.texts.length, tokens, tokenizeMs };
}

function isReranker(x: unknown): x is Reranker {
  return typeof x === "object" && x !== null && typeof (x as Reranker).rerank === "function";
}

/**
 * One model the server answers for. A reranker with a BatchScorer is scored through a
 * DynamicBatcher shared by every request; any other reranker is called per request
 * behind a ConcurrencyGate. Either way the queue is bounded and cancellable.
 */
export class ServedModel {
  state: ModelState = "loading";
  loadError: unknown;
  private reranker: Reranker | undefined;
  private batcher: DynamicBatcher | undefined;
  private scorer: BatchScorer | undefined;
  private gate: ConcurrencyGate | undefined;

  constructor(
    readonly id: string,
    private readonly source: RerankerSpec | Reranker,
    private readonly limits: ServerLimits,
    private readonly batching: BatchingConfig,
    private readonly metrics: ServerMetrics,
  ) {}

  /** The family, for /v1/models. */
  get type(): string {
    return isReranker(this.source) ? this.source.name : this.source.type;
  }

  get batched(): boolean {
    return this.batcher !== undefined;
  }

  get queuedPairs(): number {
    return this.batcher?.queuedPairs ?? this.gate?.queuedPairs ?? 0;
  }

  async load(): Promise<void> {
    try {
      const reranker = isReranker(this.source) ? this.source : await createReranker(this.source);
      this.reranker = reranker;
      if (isBatchableReranker(reranker)) {
        const scorer = reranker.batchScorer;
        this.scorer = scorer;
        this.batcher = new DynamicBatcher(scorer, {
          maxBatchTokens: this.batching.maxBatchTokens ?? scorer.maxBatchTokens,
          maxBatchPairs: this.batching.maxBatchPairs,
          maxQueuedPairs: this.limits.maxQueuedPairs,
          observer: {
            onBatch: ({ pairs, requests, tokens }) => {
              this.metrics.batchPairs.observe({ model: this.id }, pairs);
              this.metrics.batchRequests.observe({ model: this.id }, requests);
              this.metrics.pairsScored.inc({ model: this.id }, pairs);
              this.metrics.tokens.inc({ model: this.id }, tokens);
            },
            onBatchError: () => this.metrics.batchErrors.inc({ model: this.id }),
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
    if (this.state !== "ready" || !this.reranker) {
      throw new WinnowError(
        this.state === "failed" ? "MODEL_LOAD_FAILED" : "MODEL_NOT_FOUND",
        this.state === "failed" ? `model "${this.id}" failed to load` : `model "${this.id}" is still loading; retry when /ready answers 200`,
        // 503 (not the code's 404/500): the model exists and the caller should retry later.
        { details: { field: "model", model: this.id, state: this.state, httpStatus: 503 } },
      );
    }
    return this.batcher && this.scorer ? this.scoreBatched(this.batcher, this.scorer, req) : this.scoreDirect(this.reranker, req);
  }

  private async scoreBatched(batcher: DynamicBatcher, scorer: BatchScorer, req: ScoreRequest): Promise<ScoreOutcome> {
    const prepared = await prepareInSlices(scorer, req);
    const done = await batcher.submit(prepared.units, req.signal);
    // A document split into windows scores as its best window (Cohere's and TEI's rule).
    const raw = new Array<number>(prepared.texts).fill(-Infinity);
    for (let u = 0; u < prepared.units.length; u++) {
      const t = prepared.owner[u];
      if (done.logits[u] > raw[t]) raw[t] = done.logits[u];
    }
    return {
      scores: raw.map((x) => scorer.normalize(x)),
      rawScores: raw,
      queueMs: done.queueMs,
      tokenizeMs: prepared.tokenizeMs,
      inferenceMs: done.inferenceMs,
      tokens: prepared.tokens,
      units: prepared.units.length,
    };
  }

  private async scoreDirect(reranker: Reranker, req: ScoreRequest): Promise<ScoreOutcome> {
    const waitStart = performance.now();
    const release = await this.gate!.acquire(req.texts.length, req.signal);
    const queueMs = performance.now() - waitStart;
    const start = performance.now();
    try {
      const ranked = await reranker.rerank(req.query, req.texts, { returnDocuments: false, signal: req.signal });
      const scores = new Array<number>(req.texts.length).fill(Number.NaN);
      for (const r of ranked) scores[r.index] = r.score;
      this.metrics.pairsScored.inc({ model: this.id }, req.texts.length);
      return {
        scores,
        rawScores: scores,
        queueMs,
        tokenizeMs: 0,
        inferenceMs: performance.now() - start,
        tokens: undefined,
        units: req.texts.length,
      };
    } catch (err) {
      if (isWinnowError(err)) throw err;
      throw new WinnowError("INTERNAL", `model "${this.id}" failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    } finally {
      release();
    }
  }

  /** Fails waiting work and releases the reranker's native resources. */
  async close(): Promise<void> {
    this.batcher?.close();
    await this.reranker?.close?.();
  }
}
