import type { FastifyPluginAsync } from "fastify";
import { Histogram } from "prom-client";
import { WinnowError } from "../../core/errors.js";
import { isBlankText } from "../../core/inputs.js";
import type { MetadataFilter } from "../../core/types.js";
import type { PipelineResult } from "../../pipeline/pipeline.js";
import { HARD_MAX_DOCUMENTS } from "../config.js";
import { requestSignal } from "../request-signal.js";
import type { ServedPipeline } from "../served-pipeline.js";

interface SearchBody {
  query: string;
  top_n?: number;
  budget_ms?: number;
  filter?: MetadataFilter;
  return_documents?: boolean;
}

export interface SearchRoutesOptions {
  pipeline: ServedPipeline;
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The answer's wire shape: snake_case like the rerank APIs. */
function searchResponse(r: PipelineResult) {
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
}

/**
 * `POST /v1/search`: the whole pipeline (retrieve, fuse, rerank within a budget) behind
 * one call. createServer mounts it when the config names a pipeline, so it shares the
 * rerank routes' body limits, API keys, error body, request deadline and metrics.
 */
export const searchRoutes: FastifyPluginAsync<SearchRoutesOptions> = async (app, options) => {
  const state = app.winnow;
  const { limits } = state.config;
  // The route's own metric, on the server's registry beside the rerank ones.
  const seconds = new Histogram({
    name: "winnow_search_seconds",
    help: "POST /v1/search latency by part: retrieval (slowest pool), fusion, rerank (all stages), scoring, total",
    labelNames: ["part"],
    buckets: LATENCY_BUCKETS,
    registers: [state.metrics.registry],
  });
  const body = {
    type: "object",
    required: ["query"],
    // Our own API, not a compatibility one: a misspelt field is an error, not silently dropped.
    additionalProperties: false,
    properties: {
      query: { type: "string", minLength: 1, maxLength: limits.maxQueryChars },
      top_n: { type: "integer", minimum: 1, maximum: HARD_MAX_DOCUMENTS },
      // A budget past the request's deadline could never be honoured.
      budget_ms: { type: "number", exclusiveMinimum: 0, maximum: limits.requestTimeoutMs },
      filter: { type: "object", maxProperties: 64 },
      return_documents: { type: "boolean" },
    },
  } as const;

  app.post<{ Body: SearchBody }>(
    "/v1/search",
    {
      config: { errorStyle: "cohere" },
      schema: { tags: ["search"], summary: "Retrieve and rerank with the configured pipeline", body },
    },
    async (request, reply) => {
      const b = request.body;
      if (isBlankText(b.query)) {
        throw new WinnowError("INVALID_INPUT", "query: must not be blank (only whitespace or control characters)", { details: { field: "query", httpStatus: 400 } });
      }
      const pipeline = options.pipeline.get();
      const deadline = requestSignal(state, reply);
      try {
        const r = await pipeline.search(b.query, {
          topN: b.top_n,
          budgetMs: b.budget_ms,
          filter: b.filter,
          returnDocuments: b.return_documents,
          signal: deadline.signal,
        });
        const t = r.timings;
        seconds.observe({ part: "retrieval" }, Math.max(0, ...Object.values(t.retrieval)) / 1000);
        seconds.observe({ part: "fusion" }, t.fusion / 1000);
        seconds.observe({ part: "rerank" }, Object.values(t.stages).reduce((a, x) => a + x, 0) / 1000);
        seconds.observe({ part: "scoring" }, t.scoring / 1000);
        seconds.observe({ part: "total" }, reply.elapsedTime / 1000);
        return searchResponse(r);
      } finally {
        deadline.release();
        reply.header("x-total-time", reply.elapsedTime.toFixed(2));
      }
    },
  );
};
