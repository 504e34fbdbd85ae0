import { WinnowError, throwIfAborted } from "../../core/errors.js";
import { RerankerBase, type InstructionSupport, type RerankerEvents, type ScoringCall, type ScoringOutcome } from "../../core/reranker-base.js";
import { documentText } from "../../core/inputs.js";
import type { ScoreCache } from "../../core/score-cache.js";
import { MemoryScoreCache, type MemoryScoreCacheOptions } from "../../cache/memory-score-cache.js";
import { planBatches } from "../cross-encoder/batch-plan.js";
import { sigmoid } from "../cross-encoder/calibration.js";
import { loadDecoder, type DecoderModelOptions, type LoadedDecoder } from "./load-decoder.js";

export interface DecoderRerankerOptions extends Omit<DecoderModelOptions, "signal"> {
  /** Padded tokens (rows × longest row) per forward pass (default 2048); bounds activation memory. */
  batchTokens?: number;
  /** Score cache: an instance, LRU settings, or false (default none). */
  cache?: ScoreCache | MemoryScoreCacheOptions | boolean;
  /** "normalized" (default): the documented relevance, softmax over (no, yes); "logit": its log-odds. */
  scores?: "normalized" | "logit";
  maxChunksPerDoc?: number;
  windowOverlap?: number;
  truncate?: boolean;
  /** The instruction for calls that give none (default: the template's own, e.g. Qwen3-Reranker's web-search one). */
  instruction?: string;
  events?: RerankerEvents;
}

export const DEFAULT_DECODER_BATCH_TOKENS = 2048;

function resolveCache(cache: DecoderRerankerOptions["cache"]): ScoreCache | undefined {
  if (cache === undefined || cache === false) return undefined;
  if (cache === true) return new MemoryScoreCache();
  if (typeof (cache as ScoreCache).getMany === "function") return cache as ScoreCache;
  return new MemoryScoreCache(cache as MemoryScoreCacheOptions);
}

/**
 * A decoder-only LLM reranker on ONNX Runtime (Qwen3-Reranker, mxbai-rerank-v2): each
 * (instruction, query, document) is rendered in the model's documented prompt and scored
 * by the log-odds of its positive label token against its negative one at the last
 * position; the reported score is their softmax (Qwen3-Reranker's formula). Reads the
 * call's instruction (or the template's default); pointwise, so the score cache applies,
 * keyed on the instruction too.
 */
export class DecoderReranker extends RerankerBase {
  readonly name: string;
  readonly scoring = "pointwise" as const;
  override readonly instruction: InstructionSupport = "accepted";
  private readonly options: DecoderRerankerOptions;
  private readonly batchTokens: number;
  private loaded?: LoadedDecoder;
  private loading?: Promise<LoadedDecoder>;

  constructor(options: DecoderRerankerOptions) {
    super({ cache: resolveCache(options?.cache), events: options?.events });
    if (options === null || typeof options !== "object" || typeof options.model !== "string" || options.model.trim() === "") {
      throw new WinnowError("CONFIG_INVALID", "decoder reranker needs `model`: a hub id or a model folder", { details: { field: "model" } });
    }
    this.options = { ...options };
    this.name = `decoder:${options.model}`;
    this.batchTokens = options.batchTokens ?? DEFAULT_DECODER_BATCH_TOKENS;
    if (!Number.isInteger(this.batchTokens) || this.batchTokens < 64) {
      throw new WinnowError("CONFIG_INVALID", `batchTokens must be an integer ≥ 64, got ${String(options.batchTokens)}`, { details: { field: "batchTokens", min: 64 } });
    }
    if (options.scores !== undefined && options.scores !== "normalized" && options.scores !== "logit") {
      throw new WinnowError("CONFIG_INVALID", `scores must be "normalized" or "logit", got ${JSON.stringify(options.scores)}`, { details: { field: "scores" } });
    }
  }

  static async load(options: DecoderRerankerOptions): Promise<DecoderReranker> {
    const r = new DecoderReranker(options);
    await r.ready();
    return r;
  }

  async ready(): Promise<LoadedDecoder> {
    if (this.loaded) return this.loaded;
    this.loading ??= loadDecoder(this.options).then(
      (m) => (this.loaded = m),
      (err) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  get model(): LoadedDecoder | undefined {
    return this.loaded;
  }

  /** Model id + revision + dtype + max length + template: what makes two scores comparable. */
  get id(): string {
    const m = this.loaded;
    if (!m) throw new WinnowError("INTERNAL", "decoder reranker not loaded yet: await reranker.ready() or DecoderReranker.load()");
    return `${m.source.id}@${m.source.revision}/${m.dtype}/${m.maxLength}/${m.template.name}`;
  }

  /** A call's windowing and score kind: the reranker's settings under the call's `family["cross-encoder"]` options. */
  private callOptions(call: ScoringCall): { maxChunksPerDoc: number; truncate: boolean; maxTokensPerDoc?: number; truncationDirection?: "right" | "left"; scores: "normalized" | "logit" } {
    const o = call.options.family?.["cross-encoder"] ?? {};
    return {
      maxChunksPerDoc: o.maxChunksPerDoc ?? this.options.maxChunksPerDoc ?? 4,
      truncate: o.truncate ?? this.options.truncate ?? false,
      maxTokensPerDoc: o.maxTokensPerDoc,
      truncationDirection: o.truncationDirection,
      scores: (o.scores as "normalized" | "logit" | undefined) ?? this.options.scores ?? "normalized",
    };
  }

  /** The per-call options a decoder reads (the cross-encoder's, less calibration); anything else is refused, never ignored. */
  protected override checkCall(call: ScoringCall): void {
    const o: unknown = call.options.family?.["cross-encoder"];
    if (o === undefined) return;
    if (o === null || typeof o !== "object") throw new WinnowError("INVALID_INPUT", 'family["cross-encoder"] must be an object', { details: { field: 'family["cross-encoder"]' } });
    const f = o as Record<string, unknown>;
    const known = ["scores", "maxChunksPerDoc", "truncate", "maxTokensPerDoc", "truncationDirection"];
    for (const k of Object.keys(f)) {
      if (!known.includes(k)) throw new WinnowError("INVALID_INPUT", `family["cross-encoder"].${k}: unknown option (known: ${known.join(", ")})`, { details: { field: `family["cross-encoder"].${k}` } });
    }
    if (f.scores !== undefined && f.scores !== "normalized" && f.scores !== "logit") {
      throw new WinnowError("INVALID_INPUT", `family["cross-encoder"].scores must be "normalized" or "logit" for the decoder ${this.name}, got ${JSON.stringify(f.scores)}`, { details: { field: 'family["cross-encoder"].scores' } });
    }
    for (const k of ["maxChunksPerDoc", "maxTokensPerDoc"] as const) {
      const v = f[k];
      if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1)) {
        throw new WinnowError("INVALID_INPUT", `family["cross-encoder"].${k} must be a positive integer, got ${String(v)}`, { details: { field: `family["cross-encoder"].${k}` } });
      }
    }
    if (f.truncate !== undefined && typeof f.truncate !== "boolean") throw new WinnowError("INVALID_INPUT", 'family["cross-encoder"].truncate must be a boolean', { details: { field: 'family["cross-encoder"].truncate' } });
    if (f.truncationDirection !== undefined && f.truncationDirection !== "right" && f.truncationDirection !== "left") {
      throw new WinnowError("INVALID_INPUT", 'family["cross-encoder"].truncationDirection must be "right" or "left"', { details: { field: 'family["cross-encoder"].truncationDirection' } });
    }
  }

  protected override async cacheIdentity(call: ScoringCall): Promise<string> {
    await this.ready();
    const o = this.callOptions(call);
    const w = o.truncate ? "t" : `${o.maxChunksPerDoc}/${this.options.windowOverlap ?? "auto"}`;
    // The call's instruction is in the key already (RerankerBase); the default one is here.
    return `${this.id}|q${this.loaded!.encoder.maxQueryTokens}|w${w}|d${o.maxTokensPerDoc ?? "-"}${o.truncationDirection ?? "right"}|s${o.scores}|i${this.options.instruction ?? ""}`;
  }

  /** Log-odds (positive vs negative label) of each prompt, in token-budget batches. */
  async scorePrompts(
    instruction: string | undefined,
    query: string,
    texts: readonly string[],
    signal?: AbortSignal,
    windowing: { maxChunksPerDoc?: number; truncate?: boolean; maxTokensPerDoc?: number; truncationDirection?: "right" | "left" } = {},
  ): Promise<{ logits: Float64Array; windows: Int32Array }> {
    const m = await this.ready();
    const enc = m.encoder.encode(instruction, query, texts, {
      maxChunksPerDoc: windowing.maxChunksPerDoc ?? this.options.maxChunksPerDoc,
      windowOverlap: this.options.windowOverlap,
      truncate: windowing.truncate ?? this.options.truncate,
      maxTokensPerDoc: windowing.maxTokensPerDoc,
      truncationDirection: windowing.truncationDirection,
      signal,
    });
    const unitLogits = new Float64Array(enc.units.length);
    for (const batch of planBatches(enc.units.map((u) => u.tokens), this.batchTokens)) {
      throwIfAborted(signal);
      const out = await m.session.run(enc.units, batch, m.labelIds);
      for (let r = 0; r < batch.length; r++) unitLogits[batch[r]] = out[2 * r + 1] - out[2 * r];
    }
    const logits = new Float64Array(texts.length).fill(-Infinity);
    const windows = new Int32Array(texts.length);
    for (let u = 0; u < enc.units.length; u++) {
      const o = enc.owner[u];
      if (unitLogits[u] > logits[o]) logits[o] = unitLogits[u];
      windows[o]++;
    }
    return { logits, windows };
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    const texts = call.candidates.map((c) => documentText(c.document));
    const o = this.callOptions(call);
    const { logits, windows } = await this.scorePrompts(call.instruction ?? this.options.instruction, call.query.text, texts, call.signal, o);
    const logit = o.scores === "logit";
    return {
      scores: Array.from(logits, (l) => (logit ? l : sigmoid(l))),
      details: (i) => ({ logit: logits[i], windows: windows[i] }),
    };
  }

  override async close(): Promise<void> {
    const m = this.loaded ?? (this.loading ? await this.loading.catch(() => undefined) : undefined);
    this.loaded = undefined;
    this.loading = undefined;
    await m?.session.close();
  }
}
