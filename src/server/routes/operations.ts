import type { FastifyPluginAsync } from "fastify";

/** Liveness, readiness, Prometheus metrics and the model list. */
export const operationsRoutes: FastifyPluginAsync = async (app) => {
  const { models, metrics, pipeline } = app.winnow;

  // Answers from the event loop alone, so it stays fast while models are busy.
  app.get("/health", { schema: { tags: ["operations"], summary: "The process is up" } }, async () => ({ status: "ok" }));

  app.get("/ready", { schema: { tags: ["operations"], summary: "Every model (and the pipeline) is loaded and the server is not draining (503 otherwise); reports the shared cache" } }, async (_request, reply) => {
    const states = Object.fromEntries(models.all.map((m) => [m.id, m.state]));
    const draining = app.winnow.draining;
    const ready = !draining && models.ready && (!pipeline || pipeline.state === "ready");
    const failed = models.all.some((m) => m.state === "failed") || pipeline?.state === "failed";
    // An unreachable shared cache is reported, not fatal: every replica shares one Redis, and failing
    // readiness on its outage would take the whole fleet out while requests can be scored without it.
    const cache = app.winnow.sharedCache ? { cache: (await app.winnow.sharedCache.ping()) ? "reachable" : "unreachable" } : {};
    if (!ready) reply.code(503);
    return { status: draining ? "draining" : ready ? "ready" : failed ? "failed" : "loading", models: states, ...(pipeline ? { pipeline: pipeline.state } : {}), ...cache };
  });

  app.get("/metrics", { schema: { tags: ["operations"], summary: "Prometheus metrics", hide: false } }, async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get("/v1/models", { schema: { tags: ["operations"], summary: "Served models (Cohere- and OpenAI-style lists)" } }, async () => {
    const list = models.all.map((m) => ({ id: m.id, type: m.type, state: m.state, batched: m.batched, default: m === models.defaultModel, aliases: models.aliasesOf(m) }));
    return {
      // Cohere's list-models shape…
      models: list.map((m) => ({ name: m.id, endpoints: ["rerank"], ...m })),
      // …and OpenAI's, which many gateways probe.
      object: "list",
      data: list.map((m) => ({ id: m.id, object: "model", owned_by: "winnow" })),
    };
  });
};
