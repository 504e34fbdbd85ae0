import type { FastifyReply } from "fastify";
import { WinnowError } from "../core/errors.js";
import { isBlankText } from "../core/inputs.js";
import type { CrossEncoderCallOptions } from "../rerankers/cross-encoder/cross-encoder-call-options.js";
import { HARD_MAX_DOCUMENTS } from "./config.js";
import { invalid } from "./http-errors.js";
import { requestSignal } from "./request-signal.js";
import type { ServedModel, ServedRerankOutcome } from "./served-model.js";
import type { WinnowServerState } from "./server-state.js";

/** What every rerank route asks of the model, whatever its wire format. */
export interface RerankCall {
  model: unknown;
  query: string;
  texts: string[];
  /** Best N only (all when absent); reaches the family, so a listwise LLM can stop early. */
  topN?: number;
  /** Winnow's extension to every rerank API, for families that read one (422 from the others). */
  instruction?: string;
  /**
   * Windowing and score settings, for models that window texts themselves (batched
   * cross-encoders); a route decides what a model that does not window does with them.
   */
  windowing?: CrossEncoderCallOptions;
}

export interface RerankCallResult {
  model: ServedModel;
  outcome: ServedRerankOutcome;
}

const ms = (x: number) => x.toFixed(2);

/**
 * Runs one rerank request against its model: checks the per-character limits the JSON
 * schema cannot express, wires the deadline and the client's disconnect to one
 * AbortSignal (so queued work is dropped the moment either fires), and sets TEI's
 * timing headers and the latency metrics.
 */
export async function runRerankCall(
  state: WinnowServerState,
  reply: FastifyReply,
  call: RerankCall,
): Promise<RerankCallResult> {
  const model = state.models.resolve(call.model);
  if (isBlankText(call.query)) {
    // 400 like an empty string (the schema's minLength), whatever invisible characters it holds.
    throw new WinnowError("INVALID_INPUT", "query: must not be blank (only whitespace or control characters)", { details: { field: "query", httpStatus: 400 } });
  }
  // Deadline, client disconnect and the shutdown deadline, as for every route (request-signal.ts).
  const deadline = requestSignal(state, reply);
  try {
    const outcome = await model.rerank(call.query, call.texts, {
      topN: call.topN,
      instruction: call.instruction,
      family: call.windowing && model.batched ? { "cross-encoder": call.windowing } : undefined,
      signal: deadline.signal,
    });
    const labels = { model: model.id };
    const m = state.metrics.stageSeconds;
    m.observe({ ...labels, stage: "queue" }, outcome.queueMs / 1000);
    m.observe({ ...labels, stage: "tokenize" }, outcome.tokenizeMs / 1000);
    m.observe({ ...labels, stage: "inference" }, outcome.inferenceMs / 1000);
    m.observe({ ...labels, stage: "total" }, reply.elapsedTime / 1000);
    state.metrics.observeReordering(model.id, outcome.results.map((r) => r.index));
    state.requestLog?.record(model.id, call.query, call.texts, outcome.results);
    reply.header("x-queue-time", ms(outcome.queueMs));
    reply.header("x-tokenization-time", ms(outcome.tokenizeMs));
    reply.header("x-inference-time", ms(outcome.inferenceMs));
    reply.header("x-compute-tokens", String(outcome.tokens ?? 0));
    reply.header("x-model-id", model.id);
    return { model, outcome };
  } finally {
    deadline.release();
    reply.header("x-total-time", ms(reply.elapsedTime));
  }
}

/** Texts over the per-document character limit, named by index. */
export function checkDocumentChars(texts: readonly string[], maxChars: number, field: string): void {
  for (let i = 0; i < texts.length; i++) {
    if (texts[i].length > maxChars) {
      throw invalid(`${field}[${i}]`, `${field}[${i}]: ${texts[i].length} characters, more than the ${maxChars} allowed (limits.maxDocumentChars)`, maxChars);
    }
  }
}

/** Winnow's `instruction` field, the same on every rerank route. */
export const INSTRUCTION_SCHEMA = {
  type: "string",
  minLength: 1,
  maxLength: 4_096,
  description: "Winnow extension: an instruction for rerankers that read one (LLMs); a model that does not answers 422",
} as const;

export const TOP_N_SCHEMA = { type: "integer", minimum: 1, maximum: HARD_MAX_DOCUMENTS } as const;
