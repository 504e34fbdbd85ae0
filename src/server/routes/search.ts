import type { FastifyPluginAsync } from "fastify";
import { Histogram } from "prom-client";
import { WinnowError } from "../../core/errors.js";
import { isBlankText } from "../../core/inputs.js";
import type { MetadataFilter } from "../../core/types.js";
import type { PipelineHit, PipelineResult } from "../../pipeline/pipeline.js";
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

/** The `model` label of a search's reordering metrics and request-log lines: its last reranking stage. */
export function searchModelLabel(r: PipelineResult): string {
  const last = r.stages.at(-1);
  return last ? `search:${last.name}` : "search";
}

/**
 * A search as the request log holds it: every candidate still in the list, in the first
 * stage's (post-fusion) order, and the answer as indices into them. `all` is the whole
 * ranked list (fetched only for a sampled request); candidates a stage's threshold
 * dropped are not in it, so they are not in the log either.
 */
function logEntry(all: readonly PipelineHit[], answered: readonly PipelineHit[]) {
  const documents = [...all].sort((a, b) => a.firstStageRank - b.firstStageRank);
  const at = new Map(documents.map((h, i) => [h.firstStageRank, i]));
  return {
    documents: documents.map((h) => ({ id: h.id, text: h.document ? (h.document.title ? `${h.document.title}\n${h.document.text}` : h.document.text) : "" })),
    results: answered.map((h) => ({ index: at.get(h.firstStageRank)!, score: h.score })),
  };
}

/**
 * `POST /v1/search`: the whole pipeline (retrieve, fuse, rerank within a budget) behind
 * one call. createServer mounts it when the config names a pipeline, so it shares the
 * rerank routes' body limits, API keys, error body, request deadline and metrics,
 * including how much reranking moved the first stage's order (per last stage, as
 * `search:<stage>`) and the opt-in sampled request log.
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
        // A sampled request asks the pipeline for its whole list (the log holds every
        // candidate in the first stage's order, as the rerank routes log what was sent);
        // the answer is still the requested top n. Costs nothing extra: the list is ranked anyway.
        const logged = state.requestLog?.takeSample() ?? false;
        const topN = b.top_n ?? pipeline.topN;
        const full = await pipeline.search(b.query, {
          topN: logged ? HARD_MAX_DOCUMENTS : topN,
          budgetMs: b.budget_ms,
          filter: b.filter,
          returnDocuments: logged ? true : b.return_documents,
          signal: deadline.signal,
        });
        const answered = logged ? full.results.slice(0, topN) : full.results;
        const r: PipelineResult = logged ? { ...full, results: b.return_documents === false ? answered.map(({ document: _, ...h }) => h) : answered } : full;
        if (r.stages.length > 0) state.metrics.observeReordering(searchModelLabel(r), r.results.map((h) => h.firstStageRank - 1));
        if (logged) {
          const entry = logEntry(full.results, answered);
          state.requestLog!.write(searchModelLabel(r), b.query, entry.documents, entry.results);
        }
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
