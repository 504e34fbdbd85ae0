import type { ScoreCache } from "../core/score-cache.js";
import { WinnowError, isWinnowError, throwIfAborted } from "../core/errors.js";
import { isBatchableReranker } from "../core/batch-scorer.js";
import type { InstructionSupport } from "../core/reranker-base.js";
import type { Document, FamilyCallOptions, RankedResult, Reranker } from "../core/types.js";
import type { RerankerSpec } from "../rerankers/registry.js";
import { MemoryScoreCache, type MemoryScoreCacheOptions } from "../cache/memory-score-cache.js";
import { BatchedReranker, handleScorer, type CallTimings, type HandleBackend, type HandleUnit } from "./batched-reranker.js";
import { ConcurrencyGate } from "./concurrency-gate.js";
import type { BatchingConfig, ServerLimits } from "./config.js";
import { DynamicBatcher } from "./dynamic-batcher.js";
import { instructionSupport } from "./instruction-support.js";
import type { ServerMetrics } from "./metrics.js";
import { PreparedUnitStore } from "./prepared-units.js";
import { WorkerHostedModel } from "./worker-hosted-model.js";
import type { WorkerRerankOptions, WorkerRerankResult } from "./worker-protocol.js";

/** What a rerank route asks of a served model, beyond the query and the texts. */
export interface ServedRerankOptions {
  /** Keep only the best N; a listwise family may stop early, a pairwise one compares fewer. */
  topN?: number;
  /** For families that read one; the others refuse it (422 naming `instruction`). */
  instruction?: string;
  /** Per-family options (`family["cross-encoder"]`: windowing, truncation, score kind). */
  family?: FamilyCallOptions;
  signal: AbortSignal;
}

/** A served rerank: the family's results, best first (indices into the request's texts), and what it cost. */
export interface ServedRerankOutcome {
  results: RankedResult[];
  /** What the family said about this call (truncated passages, repaired answers…). */
  warnings: string[];
  queueMs: number;
  tokenizeMs: number;
  inferenceMs: number;
  /** Tokens the model read; undefined when the reranker does not report them. */
  tokens: number | undefined;
  /** Scoring units (document windows) behind the scores. */
  units: number;
}

export type ModelState = "loading" | "ready" | "failed";

/** A whole-request rerank for models that cannot batch: the family's own path, wherever it runs. */
type DirectBackend = (query: string, texts: readonly string[], options: WorkerRerankOptions, signal: AbortSignal) => Promise<WorkerRerankResult>;

function isScoreCache(x: unknown): x is ScoreCache {
  return typeof x === "object" && x !== null && typeof (x as ScoreCache).getMany === "function";
}

function isReranker(x: unknown): x is Reranker {
  return typeof x === "object" && x !== null && typeof (x as Reranker).rerank === "function";
}

/**
 * One model the server answers for. A reranker with a BatchScorer is scored through a
 * DynamicBatcher shared by every request (its units tokenized and kept where the model
 * is, the batcher scheduling their handles); any other reranker is called per request
 * behind a ConcurrencyGate. Either way every request option reaches the family through
 * the shared path (RerankerBase) and the queue is bounded and cancellable. A model given
 * as a spec lives in a worker thread (see model-worker.ts); an instance handed in by
 * library code runs on this thread.
 */
export class ServedModel {
  state: ModelState = "loading";
  loadError: unknown;
  /** The reranker's own name (its family), once loaded. */
  family: string | undefined;
  /** Whether the family reads an instruction, as it declares. */
  instruction: InstructionSupport = "refused";
  private batched_: BatchedReranker | undefined;
  private directBackend: DirectBackend | undefined;
  private batcher: DynamicBatcher<HandleUnit> | undefined;
  private gate: ConcurrencyGate | undefined;
  private closeBackend: (() => Promise<void>) | undefined;
  private heldUnitsOf: (() => Promise<number>) | undefined;
  private batchTokens: number | undefined;

  constructor(
    readonly id: string,
    private readonly source: RerankerSpec | Reranker,
    private readonly limits: ServerLimits,
    private readonly batching: BatchingConfig,
    private readonly metrics: ServerMetrics,
    private readonly useWorker = true,
    /** true or LRU settings: an in-memory cache of its own; a ScoreCache: the server's shared one (Redis). */
    private readonly cacheOptions: boolean | MemoryScoreCacheOptions | ScoreCache = false,
  ) {}

  /** The family, for /v1/models. */
  get type(): string {
    return isReranker(this.source) ? this.source.name : this.source.type;
  }

  get batched(): boolean {
    return this.batcher !== undefined;
  }

  /** The spec this model was built from (undefined for a Reranker instance handed in), for /info and /tokenize. */
  get spec(): RerankerSpec | undefined {
    return isReranker(this.source) ? undefined : this.source;
  }

  /** Tokens per scoring pass, once a batched model is loaded (TEI's max_batch_tokens). */
  get maxBatchTokens(): number | undefined {
    return this.batchTokens;
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

  /** Tokenized units held for queued requests (in the worker, or here); 0 for unbatched models. */
  async heldUnits(): Promise<number> {
    return (await this.heldUnitsOf?.()) ?? 0;
  }

  async load(): Promise<void> {
    try {
      let backend: HandleBackend | undefined;
      if (isReranker(this.source) || !this.useWorker) {
        const { createReranker, servingSpec } = await import("../rerankers/registry.js");
        const reranker = isReranker(this.source) ? this.source : await createReranker(servingSpec(this.source));
        this.family = reranker.name;
        this.instruction = instructionSupport(reranker);
        this.closeBackend = async () => reranker.close?.();
        if (isBatchableReranker(reranker)) {
          const scorer = reranker.batchScorer;
          // The same handle protocol as the worker's, so both paths schedule alike.
          const store = new PreparedUnitStore(scorer);
          this.heldUnitsOf = async () => store.size;
          backend = {
            get id() {
              return scorer.id;
            },
            maxBatchTokens: scorer.maxBatchTokens,
            instruction: this.instruction,
            prepare: (q, t, o) => store.prepare(q, t, o),
            scoreUnits: (s) => store.score(s),
            release: (handles) => handles.forEach((h) => store.release(h)),
            normalizeMany: async (l) => l.map((x) => scorer.normalize(x)),
          };
          const close = this.closeBackend;
          this.closeBackend = async () => (store.clear(), close());
        } else {
          this.directBackend = async (query, texts, options, signal) => {
            const warnings: string[] = [];
            const results = await reranker.rerank(query, texts, { ...options, returnDocuments: false, signal, onWarnings: (w) => warnings.push(...w) });
            return { results, warnings };
          };
        }
      } else {
        // The family's serving defaults (a cross-encoder's spinWait: false) under what the spec sets.
        const { servingSpec } = await import("../rerankers/registry.js");
        const { model, info } = await WorkerHostedModel.load(servingSpec(this.source));
        // A worker that dies later takes the model down: /ready turns 503 and requests say why.
        model.onFailure = (err) => {
          if (this.state !== "ready") return;
          this.state = "failed";
          this.loadError = err;
        };
        this.family = info.name;
        this.instruction = info.instruction;
        this.closeBackend = () => model.close();
        if (info.batchable) {
          this.heldUnitsOf = () => model.heldUnits();
          backend = {
            id: info.id ?? this.id,
            maxBatchTokens: info.maxBatchTokens ?? 4096,
            instruction: info.instruction,
            prepare: (q, t, o) => model.prepare(q, t, o),
            scoreUnits: (s) => model.scoreUnits(s),
            release: (handles) => model.release(handles),
            normalizeMany: (l) => model.normalizeMany(l),
          };
        } else {
          this.directBackend = (query, texts, options, signal) => model.rerank(query, texts, options, signal);
        }
      }
      if (backend) {
        this.batchTokens = this.batching.maxBatchTokens ?? backend.maxBatchTokens;
        this.batcher = new DynamicBatcher<HandleUnit>(handleScorer(backend), {
          maxBatchTokens: this.batching.maxBatchTokens ?? backend.maxBatchTokens,
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
        this.batched_ = new BatchedReranker(this.family ?? this.id, backend, this.batcher);
        // The server's score cache is the shared path's: keys fold in every setting that changes a score.
        if (this.cacheOptions) this.batched_.useCache(isScoreCache(this.cacheOptions) ? this.cacheOptions : new MemoryScoreCache(this.cacheOptions === true ? {} : this.cacheOptions));
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

  /** Reranks `texts` for `query` through the family's shared path: results best first, cut to topN. */
  async rerank(query: string, texts: readonly string[], options: ServedRerankOptions): Promise<ServedRerankOutcome> {
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
    if (options.instruction && this.instruction !== "accepted") {
      // Checked here too, so a reranker instance that does not declare it cannot drop it silently.
      throw new WinnowError("INVALID_INPUT", `instruction: model "${this.id}" (${this.family ?? this.type}) does not read an instruction (it would be ignored); remove it or serve a family that takes one (llm)`, {
        details: { field: "instruction", model: this.id },
      });
    }
    return this.batched_ ? this.rerankBatched(this.batched_, query, texts, options) : this.rerankDirect(query, texts, options);
  }

  private async rerankBatched(reranker: BatchedReranker, query: string, texts: readonly string[], options: ServedRerankOptions): Promise<ServedRerankOutcome> {
    const warnings: string[] = [];
    // No ids: the same text at another position is the same cache entry.
    const docs: Document[] = texts.map((text) => ({ id: "", text }));
    const { results, timings } = await reranker.rerankTimed(query, docs, {
      topN: options.topN,
      instruction: options.instruction,
      family: options.family,
      returnDocuments: false,
      signal: options.signal,
      onWarnings: (w) => warnings.push(...w),
    });
    if (this.cacheOptions) {
      this.metrics.cacheHits.inc({ model: this.id }, texts.length - timings.scored);
      this.metrics.cacheMisses.inc({ model: this.id }, timings.scored);
    }
    return { results, warnings, ...timingsOf(timings) };
  }

  private async rerankDirect(query: string, texts: readonly string[], options: ServedRerankOptions): Promise<ServedRerankOutcome> {
    const { signal } = options;
    const waitStart = performance.now();
    const release = await this.gate!.acquire(texts.length, signal);
    const queueMs = performance.now() - waitStart;
    const start = performance.now();
    try {
      const { results, warnings } = await this.directBackend!(query, texts, { topN: options.topN, instruction: options.instruction, family: options.family }, signal);
      throwIfAborted(signal);
      this.metrics.pairsScored.inc({ model: this.id }, texts.length);
      return { results, warnings, queueMs, tokenizeMs: 0, inferenceMs: performance.now() - start, tokens: undefined, units: texts.length };
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

function timingsOf(t: CallTimings): Omit<ServedRerankOutcome, "results" | "warnings"> {
  return { queueMs: t.queueMs, tokenizeMs: t.tokenizeMs, inferenceMs: t.inferenceMs, tokens: t.tokens, units: t.units };
}
