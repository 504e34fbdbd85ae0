import type { FastifyPluginAsync } from "fastify";
import { WinnowError } from "../../core/errors.js";
import { invalid } from "../http-errors.js";
import { ModelTokenizer } from "../model-tokenizer.js";
import { documented, INFINITY_RERANK_RESPONSE, TEI_ERROR, TEI_INFO_RESPONSE, TEI_RERANK_RESPONSE, TEI_TOKENIZE_RESPONSE } from "../openapi-schemas.js";
import { checkDocumentChars, INSTRUCTION_SCHEMA, runRerankCall, TOP_N_SCHEMA } from "../rerank-call.js";
import type { ServedModel } from "../served-model.js";
import { rerankBody } from "./request-body.js";

interface RerankBody {
  query: string;
  /** TEI's field. */
  texts?: string[];
  /** Infinity's field: a body with it gets Infinity's answer. */
  documents?: string[];
  raw_scores?: boolean;
  return_text?: boolean;
  /** Infinity. */
  return_documents?: boolean;
  /** Infinity. */
  top_n?: number;
  truncate?: boolean;
  truncation_direction?: "Right" | "Left" | "right" | "left";
  /** Not part of TEI (one model per server there); picks a model here. Infinity sends it. */
  model?: string;
  /** Winnow extension, for rerankers that read an instruction. */
  instruction?: string;
}

interface TokenizeBody {
  inputs: string | string[];
  add_special_tokens?: boolean;
  prompt_name?: string;
  model?: string;
}

const VERSION = "0.1.0";

/**
 * Hugging Face text-embeddings-inference's `/rerank` (a bare array of `{ index, score,
 * text? }` sorted by score, errors as `{ error, error_type }`), `/info` and `/tokenize`;
 * and Infinity's `/rerank`, which shares the path: a body carrying `documents` instead of
 * `texts` gets Infinity's `{ object: "rerank", results: [{ relevance_score, index, document }] }`.
 * One deliberate difference from TEI: with `truncate: false` a long text is scored in
 * windows (best window wins) instead of being refused; `truncation_direction: "Left"` then
 * keeps the last windows (and with `truncate: true`, the last tokens).
 */
export const teiRoutes: FastifyPluginAsync = async (app) => {
  const { limits, batching } = app.winnow.config;
  const texts = { type: "array", minItems: 1, maxItems: limits.maxDocuments, items: { type: "string" } };
  const rerank = rerankBody({
    required: ["query"],
    properties: {
      query: { type: "string", minLength: 1, maxLength: limits.maxQueryChars },
      texts: { ...texts, description: "TEI's documents field (send this or `documents`)" },
      documents: { ...texts, description: "Infinity's documents field: the answer takes Infinity's shape" },
      raw_scores: { type: "boolean", default: false, description: "The logit instead of its sigmoid" },
      // No schema defaults on these two: which of them a body sent tells TEI's dialect from Infinity's.
      return_text: { type: "boolean", description: "TEI: include each text (default false)" },
      return_documents: { type: "boolean", description: "Infinity's return_text (default false)" },
      top_n: { ...TOP_N_SCHEMA, description: "Infinity: return only the best N" },
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
  app.post<{ Body: RerankBody }>(
    "/rerank",
    {
      config: { errorStyle: "tei" },
      preValidation: rerank.preValidation,
      ...documented(
        {
          tags: ["rerank"],
          operationId: "rerankTei",
          summary: "TEI- and Infinity-compatible rerank; null means absent, unknown fields are ignored",
          body: rerank.body,
        },
        {
          200: { description: "TEI's array, or Infinity's object when the body sent `documents`", anyOf: [TEI_RERANK_RESPONSE, INFINITY_RERANK_RESPONSE] },
          "4xx": TEI_ERROR,
          "5xx": TEI_ERROR,
        },
      ),
    },
    async (request, reply) => {
      const b = request.body;
      if (b.texts !== undefined && b.documents !== undefined) throw invalid("documents", "documents: send `texts` (TEI) or `documents` (Infinity), not both");
      const infinity = b.documents !== undefined;
      const docs = b.documents ?? b.texts;
      // 400 like any other missing required field (the schema cannot say "one of the two").
      if (docs === undefined) throw new WinnowError("INVALID_INPUT", "texts is required (or `documents`, Infinity's name for it)", { details: { field: "texts", httpStatus: 400 } });
      if (!infinity) {
        for (const f of ["top_n", "return_documents"] as const) if (b[f] !== undefined) throw invalid(f, `${f}: Infinity's field; TEI's body (\`texts\`) has no ${f}${f === "return_documents" ? " (send return_text)" : " (TEI always returns every text)"}`);
      } else if (b.return_text !== undefined) {
        throw invalid("return_text", "return_text: TEI's field; with Infinity's `documents` send return_documents");
      }
      const direction = b.truncation_direction?.toLowerCase() === "left" ? "left" : "right";
      const target = app.winnow.models.resolve(b.model);
      // Only batched models (cross-encoders) window and truncate texts themselves; any
      // other reranker sees whole texts, so a direction it would silently ignore is refused.
      if (direction === "left" && target.state === "ready" && !target.batched) {
        throw invalid("truncation_direction", `truncation_direction: model "${target.id}" (${target.type}) does not truncate texts, so Left cannot be honoured; send Right or leave it out`);
      }
      const field = infinity ? "documents" : "texts";
      checkDocumentChars(docs, limits.maxDocumentChars, field);
      const { model, outcome } = await runRerankCall(app.winnow, reply, {
        model: b.model,
        query: b.query,
        texts: docs,
        topN: b.top_n,
        instruction: b.instruction,
        // raw_scores: the logit (the best window's), as TEI answers it; otherwise its sigmoid.
        windowing: { truncate: b.truncate, truncationDirection: direction, scores: b.raw_scores ? "logit" : undefined },
      });
      if (infinity) {
        const tokens = outcome.tokens ?? 0;
        return {
          object: "rerank",
          results: outcome.results.map(({ index, score }) => ({ relevance_score: score, index, document: b.return_documents ? docs[index] : null })),
          model: model.id,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
          id: request.id,
          created: Math.floor(Date.now() / 1000),
        };
      }
      return outcome.results.map(({ index, score }) => (b.return_text ? { index, score, text: docs[index] } : { index, score }));
    },
  );

  const tokenizers = new WeakMap<ServedModel, Promise<ModelTokenizer>>();
  /** The model's tokenizer, loaded once; only batched models (cross-encoders) tokenize. */
  const tokenizerOf = (model: ServedModel): Promise<ModelTokenizer> | undefined => {
    const spec = model.spec;
    if (model.state !== "ready" || !model.batched || !spec) return undefined;
    let t = tokenizers.get(model);
    if (!t) {
      t = ModelTokenizer.load(spec);
      t.catch(() => tokenizers.delete(model));
      tokenizers.set(model, t);
    }
    return t;
  };

  app.get<{ Querystring: { model?: string } }>(
    "/info",
    {
      config: { errorStyle: "tei" },
      ...documented(
        {
          tags: ["operations"],
          operationId: "teiInfo",
          summary: "TEI's /info for the default model (or ?model=): id, input and batch limits",
          querystring: { type: "object", properties: { model: { type: "string", maxLength: 256 } } },
        },
        { 200: TEI_INFO_RESPONSE, "4xx": TEI_ERROR, "5xx": TEI_ERROR },
      ),
    },
    async (request) => {
      const model = app.winnow.models.resolve(request.query.model);
      const tokenizer = tokenizerOf(model);
      const spec = model.spec;
      return {
        model_id: typeof spec?.model === "string" ? spec.model : model.id,
        model_sha: null,
        model_dtype: typeof spec?.dtype === "string" ? spec.dtype : "float32",
        model_type: { reranker: { id2label: { 0: "LABEL_0" }, label2id: { LABEL_0: 0 } } },
        max_concurrent_requests: limits.maxConcurrentRequests,
        max_input_length: tokenizer ? ((await tokenizer).maxInputLength ?? null) : null,
        max_batch_tokens: model.maxBatchTokens ?? batching.maxBatchTokens ?? null,
        max_batch_requests: model.batched ? batching.maxBatchPairs : null,
        max_client_batch_size: limits.maxDocuments,
        // Long texts are windowed (or truncated with truncate: true), never refused.
        auto_truncate: true,
        tokenization_workers: null,
        version: VERSION,
        sha: null,
        docker_label: null,
      };
    },
  );

  app.post<{ Body: TokenizeBody }>(
    "/tokenize",
    {
      config: { errorStyle: "tei" },
      ...documented(
        {
          tags: ["operations"],
          operationId: "teiTokenize",
          summary: "TEI's /tokenize with the served cross-encoder's tokenizer",
          body: {
            type: "object",
            required: ["inputs"],
            properties: {
              inputs: { anyOf: [{ type: "string", maxLength: limits.maxDocumentChars }, { type: "array", minItems: 1, maxItems: limits.maxDocuments, items: { type: "string", maxLength: limits.maxDocumentChars } }] },
              add_special_tokens: { type: "boolean", default: true },
              prompt_name: { type: ["string", "null"] },
              model: { type: "string", maxLength: 256 },
            },
          },
        },
        { 200: TEI_TOKENIZE_RESPONSE, "4xx": TEI_ERROR, "5xx": TEI_ERROR },
      ),
    },
    async (request) => {
      const b = request.body;
      if (typeof b.prompt_name === "string") throw invalid("prompt_name", "prompt_name: this server has no prompts configured; leave it out");
      const model = app.winnow.models.resolve(b.model);
      const tokenizer = tokenizerOf(model);
      if (!tokenizer) {
        if (model.state !== "ready") throw new WinnowError("UNAVAILABLE", `model "${model.id}" is still loading`, { details: { field: "model" } });
        throw invalid("model", `model: "${model.id}" (${model.type}) has no tokenizer; /tokenize needs a cross-encoder`);
      }
      const t = await tokenizer;
      const inputs = typeof b.inputs === "string" ? [b.inputs] : b.inputs;
      return inputs.map((text) => t.tokenize(text, b.add_special_tokens ?? true));
    },
  );
};
