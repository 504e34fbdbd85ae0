import type { FastifyPluginAsync } from "fastify";
import { invalid } from "../http-errors.js";
import { checkDocumentChars, rankedIndices, runRerankCall } from "../rerank-call.js";

interface TeiBody {
  query: string;
  texts: string[];
  raw_scores?: boolean;
  return_text?: boolean;
  truncate?: boolean;
  truncation_direction?: "Right" | "Left" | "right" | "left";
  /** Not part of TEI (one model per server there); picks a model here. */
  model?: string;
}

/**
 * Hugging Face text-embeddings-inference's `/rerank`: a bare array of
 * `{ index, score, text? }` sorted by score, errors as `{ error, error_type }`.
 * One deliberate difference: with `truncate: false` a long text is scored in windows
 * (best window wins) instead of being refused.
 */
export const teiRoutes: FastifyPluginAsync = async (app) => {
  const { limits } = app.winnow.config;
  app.post<{ Body: TeiBody }>(
    "/rerank",
    {
      config: { errorStyle: "tei" },
      schema: {
        tags: ["rerank"],
        summary: "TEI-compatible rerank",
        body: {
          type: "object",
          required: ["query", "texts"],
          additionalProperties: false,
          properties: {
            query: { type: "string", minLength: 1, maxLength: limits.maxQueryChars },
            texts: { type: "array", minItems: 1, maxItems: limits.maxDocuments, items: { type: "string" } },
            raw_scores: { type: "boolean", default: false },
            return_text: { type: "boolean", default: false },
            truncate: { type: "boolean", default: false },
            truncation_direction: { type: "string", enum: ["Right", "Left", "right", "left"], default: "Right" },
            model: { type: "string", maxLength: 256 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (b.truncation_direction && b.truncation_direction.toLowerCase() === "left") {
        throw invalid("truncation_direction", "truncation_direction: only Right is supported (cross-encoder windows keep the start of each text)");
      }
      checkDocumentChars(b.texts, limits.maxDocumentChars, "texts");
      const { outcome } = await runRerankCall(app.winnow, reply, {
        model: b.model,
        query: b.query,
        texts: b.texts,
        truncate: b.truncate,
      });
      const source = b.raw_scores ? outcome.rawScores : outcome.scores;
      return rankedIndices(source, undefined).map(({ index, score }) =>
        b.return_text ? { index, score, text: b.texts[index] } : { index, score },
      );
    },
  );
};
