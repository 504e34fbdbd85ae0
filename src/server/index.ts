// The `winnow/server` entry (docs/server.md): the Cohere/TEI-compatible rerank server, and
// POST /v1/search when the config names a pipeline. Routes are Fastify plugins over
// `app.winnow` (WinnowServerState), so an app can register more of its own.
export { createServer, startServer, SHUTDOWN_DEADLINE_EXIT_CODE, type CreateServerOptions, type RunningServer, type ShutdownOutcome, type StartServerOptions } from "./server.js";
export {
  HARD_MAX_DOCUMENTS,
  loadServerConfigFile,
  resolveServerConfig,
  serverConfigSchema,
  SERVE_ENVIRONMENT,
  type AuthConfig,
  type BatchingConfig,
  type ServedModelConfig,
  type ServerConfig,
  type ServerConfigInput,
  type ServerLimits,
  type SharedCacheConfig,
} from "./config.js";
export type { WinnowServerState } from "./server-state.js";
export type { ServedPipeline, ServedPipelineState } from "./served-pipeline.js";
