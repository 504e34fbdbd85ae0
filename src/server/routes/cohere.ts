import type { FastifyPluginAsync } from "fastify";
import { invalid } from "../http-errors.js";
import { checkDocumentChars, INSTRUCTION_SCHEMA, runRerankCall, TOP_N_SCHEMA } from "../rerank-call.js";
import { COHERE_ERROR, COHERE_V1_RESPONSE, COHERE_V2_RESPONSE, documented } from "../openapi-schemas.js";
import { ignoredFieldWarnings, rerankBody } from "./request-body.js";

type DocumentObject = Record<string, string>;

interface V1Body {
  model?: string;
  query: string;
  documents: Array<string | DocumentObject>;
  top_n?: number;
  /** Voyage's name for top_n. */
  top_k?: number;
  rank_fields?: string[];
  return_documents?: boolean;
  max_chunks_per_doc?: number;
  /** Voyage: truncate over-long documents instead of windowing them. */
  truncation?: boolean;
  /** Winnow extension, for rerankers that read an instruction. */
  instruction?: string;
}

interface V2Body {
  model?: string;
  query: string;
  documents: string[];
  top_n?: number;
  max_tokens_per_doc?: number;
  return_documents?: boolean;
  priority?: number;
  /** Winnow extension, for rerankers that read an instruction. */
  instruction?: string;
}

/** The text a v1 document is ranked on: `text`, or the rank_fields as `key: value` lines (Cohere's YAML-like rule). */
function v1Text(doc: string | DocumentObject, i: number, rankFields: string[] | undefined): string {
  if (typeof doc === "string") return doc;
  if (!rankFields || rankFields.length === 0) {
    if (typeof doc.text !== "string") {
      throw invalid(`documents[${i}].text`, `documents[${i}].text: required for object documents (or name the fields with rank_fields)`);
    }
    return doc.text;
  }
  const lines = rankFields.filter((f) => typeof doc[f] === "string").map((f) => `${f}: ${doc[f]}`);
  if (lines.length === 0) {
    throw invalid(`documents[${i}]`, `documents[${i}]: has none of the rank_fields (${rankFields.join(", ")})`);
  }
  return lines.join("\n");
}

function meta(version: "1" | "2", units: number, tokens: number | undefined, warnings: string[]) {
  return {
    api_version: { version, is_experimental: false },
    // Cohere bills one search unit per query with up to 100 documents (chunks count as documents).
    billed_units: { search_units: Math.max(1, Math.ceil(units / 100)) },
    tokens: { input_tokens: tokens ?? 0, output_tokens: 0 },
    warnings,
  };
}

/** Cohere's rerank API, v1 and v2; the official cohere-ai SDK works against it unchanged. */
export const cohereRoutes: FastifyPluginAsync = async (app) => {
  const { limits } = app.winnow.config;
  const query = { type: "string", minLength: 1, maxLength: limits.maxQueryChars };
  const documentObject = {
    type: "object",
    maxProperties: 64,
    additionalProperties: { type: "string" },
  };
  const common = {
    model: { type: "string", maxLength: 256, description: "Served model id or alias; the default model when absent" },
    query,
    top_n: { ...TOP_N_SCHEMA, description: "Return only the best N (all when absent; N above the document count returns all)" },
    return_documents: { type: "boolean", default: false },
    instruction: { ...INSTRUCTION_SCHEMA, maxLength: limits.maxQueryChars },
  };

  const v1 = rerankBody({
    required: ["query", "documents"],
    properties: {
      ...common,
      documents: { type: "array", minItems: 1, maxItems: limits.maxDocuments, items: { anyOf: [{ type: "string" }, documentObject] } },
      top_k: { ...TOP_N_SCHEMA, description: "Voyage's name for top_n" },
      rank_fields: { type: "array", maxItems: 64, items: { type: "string", minLength: 1, maxLength: 256 } },
      max_chunks_per_doc: { type: "integer", minimum: 1, maximum: 100 },
      truncation: { type: "boolean", description: "Voyage: true truncates long documents instead of windowing them" },
    },
  });
  app.post<{ Body: V1Body }>(
    "/v1/rerank",
    {
      config: { errorStyle: "cohere" },
      preValidation: v1.preValidation,
      ...documented(
        {
          tags: ["rerank"],
          operationId: "rerankCohereV1",
          summary: "Cohere v1 rerank (also accepts Jina's and Voyage's field names); null means absent, unknown fields are ignored",
          body: v1.body,
        },
        { 200: COHERE_V1_RESPONSE, "4xx": COHERE_ERROR, "5xx": COHERE_ERROR },
      ),
    },
    async (request, reply) => {
      const b = request.body;
      if (b.top_n !== undefined && b.top_k !== undefined && b.top_n !== b.top_k) {
        throw invalid("top_k", "top_k: conflicts with top_n (send one)");
      }
      const texts = b.documents.map((d, i) => v1Text(d, i, b.rank_fields));
      checkDocumentChars(texts, limits.maxDocumentChars, "documents");
      const { model, outcome } = await runRerankCall(app.winnow, reply, {
        model: b.model,
        query: b.query,
        texts,
        topN: b.top_n ?? b.top_k,
        instruction: b.instruction,
        windowing: { maxChunksPerDoc: b.max_chunks_per_doc, truncate: b.truncation },
      });
      const warnings = [...ignoredFieldWarnings(request), ...outcome.warnings];
      if (b.max_chunks_per_doc !== undefined && !model.batched) warnings.push(`max_chunks_per_doc is ignored by model "${model.id}"`);
      const ranked = outcome.results;
      const results = ranked.map(({ index, score }) => {
        const doc = b.documents[index];
        return b.return_documents
          ? { index, relevance_score: score, document: typeof doc === "string" ? { text: doc } : doc }
          : { index, relevance_score: score };
      });
      const response: Record<string, unknown> = {
        id: request.id,
        model: model.id,
        results,
        meta: meta("1", outcome.units, outcome.tokens, warnings),
        // Jina's and Voyage's clients read the token count here.
        usage: { total_tokens: outcome.tokens ?? 0 },
      };
      // A request in Voyage's dialect (top_k / truncation) also gets Voyage's list shape,
      // whose document is a plain string.
      if (b.top_k !== undefined || b.truncation !== undefined) {
        response.object = "list";
        response.data = ranked.map(({ index, score }) => {
          const doc = b.documents[index];
          return b.return_documents ? { index, relevance_score: score, document: typeof doc === "string" ? doc : texts[index] } : { index, relevance_score: score };
        });
      }
      return response;
    },
  );

  const v2 = rerankBody({
    required: ["query", "documents"],
    properties: {
      ...common,
      documents: { type: "array", minItems: 1, maxItems: limits.maxDocuments, items: { type: "string" } },
      max_tokens_per_doc: { type: "integer", minimum: 1, maximum: 32_768 },
      priority: { type: "integer", minimum: 0, maximum: 1_000, description: "Accepted for compatibility; not used" },
    },
  });
  app.post<{ Body: V2Body }>(
    "/v2/rerank",
    {
      config: { errorStyle: "cohere" },
      preValidation: v2.preValidation,
      ...documented(
        {
          tags: ["rerank"],
          operationId: "rerankCohereV2",
          summary: "Cohere v2 rerank; null means absent, unknown fields are ignored",
          body: v2.body,
        },
        { 200: COHERE_V2_RESPONSE, "4xx": COHERE_ERROR, "5xx": COHERE_ERROR },
      ),
    },
    async (request, reply) => {
      const b = request.body;
      checkDocumentChars(b.documents, limits.maxDocumentChars, "documents");
      const { model, outcome } = await runRerankCall(app.winnow, reply, {
        model: b.model,
        query: b.query,
        texts: b.documents,
        topN: b.top_n,
        instruction: b.instruction,
        // Cohere v2 cuts each document to max_tokens_per_doc (default 4,096); what is
        // left is scored in windows of the model's length, keeping the best window.
        windowing: { maxTokensPerDoc: b.max_tokens_per_doc ?? 4_096 },
      });
      const warnings = [...ignoredFieldWarnings(request), ...outcome.warnings];
      if (b.max_tokens_per_doc !== undefined && !model.batched) warnings.push(`max_tokens_per_doc is ignored by model "${model.id}"`);
      const results = outcome.results.map(({ index, score }) =>
        b.return_documents ? { index, relevance_score: score, document: { text: b.documents[index] } } : { index, relevance_score: score },
      );
      return { id: request.id, results, meta: meta("2", outcome.units, outcome.tokens, warnings) };
    },
  );
};
