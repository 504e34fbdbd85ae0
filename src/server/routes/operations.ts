import type { FastifyPluginAsync } from "fastify";

/** Liveness, readiness, Prometheus metrics and the model list. */
export const operationsRoutes: FastifyPluginAsync = async (app) => {
  const { models, metrics, pipeline } = app.winnow;

  // Answers from the event loop alone, so it stays fast while models are busy.
  app.get("/health", { schema: { tags: ["operations"], summary: "The process is up" } }, async () => ({ status: "ok" }));

  app.get("/ready", { schema: { tags: ["operations"], summary: "Every model (and the pipeline) is loaded (503 until then)" } }, async (_request, reply) => {
    const states = Object.fromEntries(models.all.map((m) => [m.id, m.state]));
    const ready = models.ready && (!pipeline || pipeline.state === "ready");
    const failed = models.all.some((m) => m.state === "failed") || pipeline?.state === "failed";
    if (!ready) reply.code(503);
    return { status: ready ? "ready" : failed ? "failed" : "loading", models: states, ...(pipeline ? { pipeline: pipeline.state } : {}) };
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
