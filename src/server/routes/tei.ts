import type { FastifyPluginAsync } from "fastify";
import { invalid } from "../http-errors.js";
import { checkDocumentChars, INSTRUCTION_SCHEMA, runRerankCall } from "../rerank-call.js";
import { rerankBody } from "./request-body.js";

interface TeiBody {
  query: string;
  texts: string[];
  raw_scores?: boolean;
  return_text?: boolean;
  truncate?: boolean;
  truncation_direction?: "Right" | "Left" | "right" | "left";
  /** Not part of TEI (one model per server there); picks a model here. */
  model?: string;
  /** Winnow extension, for rerankers that read an instruction. */
  instruction?: string;
}

/**
 * Hugging Face text-embeddings-inference's `/rerank`: a bare array of
 * `{ index, score, text? }` sorted by score, errors as `{ error, error_type }`.
 * One deliberate difference: with `truncate: false` a long text is scored in windows
 * (best window wins) instead of being refused; `truncation_direction: "Left"` then keeps
 * the last windows (and with `truncate: true`, the last tokens).
 */
export const teiRoutes: FastifyPluginAsync = async (app) => {
  const { limits } = app.winnow.config;
  const tei = rerankBody({
    required: ["query", "texts"],
    properties: {
      query: { type: "string", minLength: 1, maxLength: limits.maxQueryChars },
      texts: { type: "array", minItems: 1, maxItems: limits.maxDocuments, items: { type: "string" } },
      raw_scores: { type: "boolean", default: false },
      return_text: { type: "boolean", default: false },
      truncate: { type: "boolean", default: false },
      truncation_direction: {
        type: "string",
        enum: ["Right", "Left", "right", "left"],
        default: "Right",
        description: "Right keeps the start of a long text, Left its end",
      },
      model: { type: "string", maxLength: 256 },
      instruction: { ...INSTRUCTION_SCHEMA, maxLength: limits.maxQueryChars },
    },
  });
  app.post<{ Body: TeiBody }>(
    "/rerank",
    {
      config: { errorStyle: "tei" },
      preValidation: tei.preValidation,
      schema: {
        tags: ["rerank"],
        summary: "TEI-compatible rerank; null means absent, unknown fields are ignored",
        body: tei.body,
      },
    },
    async (request, reply) => {
      const b = request.body;
      const direction = b.truncation_direction?.toLowerCase() === "left" ? "left" : "right";
      const target = app.winnow.models.resolve(b.model);
      // Only batched models (cross-encoders) window and truncate texts themselves; any
      // other reranker sees whole texts, so a direction it would silently ignore is refused.
      if (direction === "left" && target.state === "ready" && !target.batched) {
        throw invalid("truncation_direction", `truncation_direction: model "${target.id}" (${target.type}) does not truncate texts, so Left cannot be honoured; send Right or leave it out`);
      }
      checkDocumentChars(b.texts, limits.maxDocumentChars, "texts");
      const { outcome } = await runRerankCall(app.winnow, reply, {
        model: b.model,
        query: b.query,
        texts: b.texts,
        instruction: b.instruction,
        // raw_scores: the logit (the best window's), as TEI answers it; otherwise its sigmoid.
        windowing: { truncate: b.truncate, truncationDirection: direction, scores: b.raw_scores ? "logit" : undefined },
      });
      return outcome.results.map(({ index, score }) =>
        b.return_text ? { index, score, text: b.texts[index] } : { index, score },
      );
    },
  );
};
