import { AsyncLocalStorage } from "node:async_hooks";
import type { PrepareOptions } from "../core/batch-scorer.js";
import { WinnowError, throwIfAborted } from "../core/errors.js";
import { documentText } from "../core/inputs.js";
import { RerankerBase, type InstructionSupport, type ScoringCall, type ScoringOutcome } from "../core/reranker-base.js";
import type { CrossEncoderCallOptions } from "../rerankers/cross-encoder/cross-encoder-call-options.js";
import type { DynamicBatcher } from "./dynamic-batcher.js";
import type { PreparedHandle, UnitSelection } from "./prepared-units.js";

/** What a batched model offers the HTTP thread: units tokenized and kept where the model is, named by handle. */
export interface HandleBackend {
  /** The scorer's identity (model, revision, dtype, max length): part of every cache key. */
  id: string;
  maxBatchTokens: number;
  instruction: InstructionSupport;
  prepare(query: string, texts: readonly string[], options: PrepareOptions): Promise<PreparedHandle>;
  scoreUnits(selection: UnitSelection): Promise<Float32Array>;
  /** Frees what a failed request still holds (units are freed as they are scored otherwise). */
  release(handles: readonly number[]): void;
  normalizeMany(logits: number[]): Promise<number[]>;
}

/** One unit as the batcher schedules it: its size, and where its tokens are kept. */
export interface HandleUnit {
  readonly tokens: number;
  readonly handle: number;
  readonly unit: number;
}

/** What one served call cost, for the timing headers and stage metrics. */
export interface CallTimings {
  queueMs: number;
  tokenizeMs: number;
  inferenceMs: number;
  tokens: number;
  units: number;
  /** Documents actually scored (the rest came from the score cache). */
  scored: number;
}

export function emptyTimings(): CallTimings {
  return { queueMs: 0, tokenizeMs: 0, inferenceMs: 0, tokens: 0, units: 0, scored: 0 };
}

/** The batcher's scorer over handle units: one pass, named by (handle, unit). */
export function handleScorer(backend: Pick<HandleBackend, "scoreUnits">): { scoreUnits(units: readonly HandleUnit[]): Promise<Float32Array> } {
  return {
    scoreUnits(units) {
      const handles = new Int32Array(units.length);
      const indices = new Int32Array(units.length);
      for (let i = 0; i < units.length; i++) {
        handles[i] = units[i].handle;
        indices[i] = units[i].unit;
      }
      return backend.scoreUnits({ handles, units: indices });
    },
  };
}

/**
 * Texts tokenized per step: small enough that other requests' forward passes interleave
 * with the tokenizing of a 1,000-document one (the model worker answers in turn).
 */
const TOKENIZE_SLICE = 32;

/**
 * A batchable model as a pointwise reranker on the HTTP thread: the shared path
 * (validation, topN, the instruction rule, the score cache, ranking) is RerankerBase's;
 * its scoring step tokenizes where the model is, queues the handles on the server's
 * DynamicBatcher with every other request's, and keeps each document's best window.
 * Timings of a call are collected for whoever runs it inside `rerankTimed`.
 */
export class BatchedReranker extends RerankerBase {
  readonly scoring = "pointwise" as const;
  override readonly instruction: InstructionSupport;
  private readonly timings = new AsyncLocalStorage<CallTimings>();

  constructor(
    readonly name: string,
    private readonly backend: HandleBackend,
    private readonly batcher: DynamicBatcher<HandleUnit>,
  ) {
    super();
    // Units are tokenized from (query, text): an instruction would need the scorer to read it.
    this.instruction = "refused";
  }

  /** `rerank`, also answering what the call cost. */
  async rerankTimed(...args: Parameters<RerankerBase["rerank"]>): Promise<{ results: Awaited<ReturnType<RerankerBase["rerank"]>>; timings: CallTimings }> {
    const timings = emptyTimings();
    const results = await this.timings.run(timings, () => this.rerank(...args));
    return { results, timings };
  }

  protected override cacheIdentity(call: ScoringCall): string | undefined {
    const o = windowing(call);
    return `${this.backend.id}|c${o.maxChunksPerDoc ?? "-"}|m${o.maxTokensPerDoc ?? "-"}|t${o.truncate ? 1 : 0}|d${o.truncationDirection === "left" ? "l" : "r"}|s${o.scores}`;
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    const o = windowing(call);
    const texts = call.candidates.map((c) => documentText(c.document));
    const handles: number[] = [];
    let scored = false;
    try {
      // Refuse before tokenizing when even one unit per text would overflow the queue
      // (under overload, refusing must be cheap), and hold that space while tokenizing.
      const release = this.batcher.reserve(texts.length);
      let parts: Array<{ start: number; prepared: PreparedHandle }>;
      try {
        parts = await this.prepareInSlices(call.query.text, texts, o, call.signal, handles);
      } finally {
        release();
      }
      const units: HandleUnit[] = [];
      const owner: number[] = [];
      let tokens = 0;
      let tokenizeMs = 0;
      for (const { start, prepared } of parts) {
        for (let u = 0; u < prepared.unitTokens.length; u++) {
          units.push({ tokens: prepared.unitTokens[u], handle: prepared.handle, unit: u });
          owner.push(prepared.owner[u] + start);
        }
        tokens += prepared.tokens;
        tokenizeMs += prepared.tokenizeMs;
      }
      const done = await this.batcher.submit(units, call.signal, { reserved: true });
      scored = true;
      // A document split into windows scores as its best window (Cohere's and TEI's rule).
      const logits = new Array<number>(texts.length).fill(-Infinity);
      const windows = new Int32Array(texts.length);
      for (let u = 0; u < units.length; u++) {
        const t = owner[u];
        windows[t]++;
        if (done.logits[u] > logits[t]) logits[t] = done.logits[u];
      }
      const scores = o.scores === "logit" ? logits : await this.backend.normalizeMany(logits);
      const timings = this.timings.getStore();
      if (timings) {
        timings.queueMs += done.queueMs;
        timings.inferenceMs += done.inferenceMs;
        timings.tokenizeMs += tokenizeMs;
        timings.tokens += tokens;
        timings.units += units.length;
        timings.scored += texts.length;
      }
      return { scores, details: (i) => ({ logit: logits[i], windows: windows[i] }) };
    } finally {
      // Scored units were freed as they ran; a failed request frees the rest now.
      if (!scored) this.backend.release(handles);
    }
  }

  /**
   * Tokenizing a big request a slice at a time lets other requests' passes run in
   * between; every handle is recorded as soon as it exists, so a request cancelled
   * mid-way still frees what it got.
   */
  private async prepareInSlices(
    query: string,
    texts: readonly string[],
    o: CrossEncoderCallOptions,
    signal: AbortSignal | undefined,
    handles: number[],
  ): Promise<Array<{ start: number; prepared: PreparedHandle }>> {
    const options: PrepareOptions = {
      maxChunksPerDoc: o.maxChunksPerDoc,
      maxTokensPerDoc: o.maxTokensPerDoc,
      truncate: o.truncate,
      truncationDirection: o.truncationDirection,
      signal,
    };
    const parts: Array<{ start: number; prepared: PreparedHandle }> = [];
    for (let start = 0; start < texts.length; start += TOKENIZE_SLICE) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(signal);
      const slice = texts.length <= TOKENIZE_SLICE ? texts : texts.slice(start, start + TOKENIZE_SLICE);
      const prepared = await this.backend.prepare(query, slice, options);
      handles.push(prepared.handle);
      parts.push({ start, prepared });
    }
    throwIfAborted(signal);
    return parts;
  }
}

/** The call's cross-encoder options, checked: the windowing settings and which number `score` is. */
function windowing(call: ScoringCall): CrossEncoderCallOptions & { scores: "normalized" | "logit" } {
  const o = call.options.family?.["cross-encoder"] ?? {};
  const scores = o.scores ?? "normalized";
  if (scores !== "normalized" && scores !== "logit") {
    // Calibration lives with the reranker's spec, not the served scorer.
    throw new WinnowError("INVALID_INPUT", `scores: the served model answers "normalized" or "logit" scores, not ${JSON.stringify(scores)}`, { details: { field: "scores" } });
  }
  return { ...o, scores };
}
