import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { httpStatusForCode, isWinnowError, WinnowError } from "../core/errors.js";
import type { MetadataFilter } from "../core/types.js";
import type { Pipeline } from "./pipeline.js";

interface SearchBody {
  query: string;
  top_n?: number;
  budget_ms?: number;
  filter?: MetadataFilter;
  return_documents?: boolean;
}

const bodySchema = {
  type: "object",
  required: ["query"],
  additionalProperties: false,
  properties: {
    query: { type: "string", minLength: 1, maxLength: 8192 },
    top_n: { type: "integer", minimum: 1, maximum: 10000 },
    budget_ms: { type: "number", exclusiveMinimum: 0, maximum: 600000 },
    filter: { type: "object" },
    return_documents: { type: "boolean" },
  },
} as const;

/**
 * `POST /v1/search`: the whole pipeline (retrieve, fuse, rerank within a budget) behind
 * one call. A Fastify plugin, so any server mounts it: `app.register(searchRoutes(pipeline))`.
 */
export function searchRoutes(pipeline: Pipeline): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.post<{ Body: SearchBody }>(
      "/v1/search",
      {
        schema: {
          summary: "Retrieve and rerank with the configured pipeline",
          body: bodySchema,
        },
      },
      async (request, reply) => {
        const b = request.body;
        const controller = new AbortController();
        // The request stream closes as soon as its body has been read, so it says nothing
        // about the client. The response closing before it finished does: the client went away.
        const onClose = () => {
          if (!reply.raw.writableFinished) controller.abort(new WinnowError("ABORTED", "client closed the connection"));
        };
        reply.raw.on("close", onClose);
        try {
          const r = await pipeline.search(b.query, {
            topN: b.top_n,
            budgetMs: b.budget_ms,
            filter: b.filter,
            returnDocuments: b.return_documents,
            signal: controller.signal,
          });
          return {
            results: r.results.map((h) => ({
              id: h.id,
              score: h.score,
              reranked: h.reranked,
              first_stage_rank: h.firstStageRank,
              scores: h.scores,
              ...(h.document ? { document: h.document } : {}),
            })),
            candidates: r.candidates,
            reranked: r.reranked,
            stages: r.stages,
            timings_ms: r.timings,
            ...(r.budget ? { budget: r.budget } : {}),
          };
        } catch (err) {
          if (isWinnowError(err)) {
            return reply.code(httpStatusForCode(err.code)).send({ message: err.message, code: err.code, details: err.details });
          }
          throw err;
        } finally {
          reply.raw.off("close", onClose);
        }
      },
    );
  };
}
