import type { FastifyPluginAsync } from "fastify";
import { COHERE_ERROR, documented, MODEL_LIST_RESPONSE, MODEL_RESPONSE } from "../openapi-schemas.js";
import type { ServedModel } from "../served-model.js";

const HEALTH = { type: "object", required: ["status"], properties: { status: { type: "string", enum: ["ok"] } } } as const;
const READY = {
  type: "object",
  required: ["status", "models"],
  properties: {
    status: { type: "string", enum: ["ready", "loading", "failed", "draining"] },
    models: { type: "object", additionalProperties: { type: "string" } },
    pipeline: { type: "string" },
    /** The shared (Redis) score cache, when configured: reported, not required (see below). */
    cache: { type: "string", enum: ["reachable", "unreachable"] },
  },
} as const;

/** Liveness, readiness, Prometheus metrics and the model list. */
export const operationsRoutes: FastifyPluginAsync = async (app) => {
  const { models, metrics, pipeline } = app.winnow;

  // Answers from the event loop alone, so it stays fast while models are busy.
  app.get("/health", documented({ tags: ["operations"], operationId: "health", summary: "The process is up" }, { 200: HEALTH }), async () => ({ status: "ok" }));

  app.get(
    "/ready",
    documented({ tags: ["operations"], operationId: "ready", summary: "Every model (and the pipeline) is loaded and the server is not draining (503 otherwise); reports the shared cache" }, { 200: READY, 503: READY }),
    async (_request, reply) => {
      const states = Object.fromEntries(models.all.map((m) => [m.id, m.state]));
      // Draining (after SIGTERM, for drainDelayMs): still serving, but load balancers should route elsewhere.
      const draining = app.winnow.draining;
      const ready = !draining && models.ready && (!pipeline || pipeline.state === "ready");
      const failed = models.all.some((m) => m.state === "failed") || pipeline?.state === "failed";
      // An unreachable shared cache is reported, not fatal: every replica shares one Redis, and failing
      // readiness on its outage would take the whole fleet out while requests can be scored without it.
      const cache = app.winnow.sharedCache ? { cache: (await app.winnow.sharedCache.ping()) ? "reachable" : "unreachable" } : {};
      if (!ready) reply.code(503);
      return { status: draining ? "draining" : ready ? "ready" : failed ? "failed" : "loading", models: states, ...(pipeline ? { pipeline: pipeline.state } : {}), ...cache };
    },
  );

  app.get("/metrics", { schema: { tags: ["operations"], operationId: "metrics", summary: "Prometheus metrics (text exposition format)", hide: false } }, async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const describe = (m: ServedModel) => ({ id: m.id, type: m.type, state: m.state, batched: m.batched, default: m === models.defaultModel, aliases: models.aliasesOf(m) });

  app.get(
    "/v1/models",
    documented({ tags: ["operations"], operationId: "listModels", summary: "Served models (Cohere- and OpenAI-style lists)" }, { 200: MODEL_LIST_RESPONSE }),
    async () => {
      const list = models.all.map(describe);
      return {
        // Cohere's list-models shape…
        models: list.map((m) => ({ name: m.id, endpoints: ["rerank"], ...m })),
        // …and OpenAI's, which many gateways probe.
        object: "list",
        data: list.map((m) => ({ id: m.id, object: "model", owned_by: "winnow" })),
      };
    },
  );

  // A wildcard, not :id, so ids and aliases with slashes (hub ids like BAAI/bge-reranker-base) resolve.
  app.get<{ Params: { "*": string } }>(
    "/v1/models/*",
    {
      config: { errorStyle: "cohere" },
      ...documented(
        {
          tags: ["operations"],
          operationId: "getModel",
          summary: "One served model by id or alias (404 naming the served ones otherwise)",
          params: { type: "object", required: ["*"], properties: { "*": { type: "string", minLength: 1, maxLength: 256, description: "A model id or alias" } } },
        },
        { 200: MODEL_RESPONSE, "4xx": COHERE_ERROR },
      ),
    },
    // An alias (or the catch-all "*") answers with the model it names.
    async (request) => ({ object: "model", owned_by: "winnow", ...describe(models.resolve(request.params["*"])) }),
  );
};
