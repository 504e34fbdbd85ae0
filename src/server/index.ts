// The rerank server's public surface.
export { createServer, startServer, SHUTDOWN_DEADLINE_EXIT_CODE, type CreateServerOptions, type RunningServer, type ShutdownOutcome, type StartServerOptions } from "./server.js";
export {
  HARD_MAX_DOCUMENTS,
  loadServerConfigFile,
  resolveServerConfig,
  serverConfigSchema,
  type ServedModelConfig,
  type ServerConfig,
  type ServerConfigInput,
  type ServerLimits,
} from "./config.js";
export { DynamicBatcher, type BatchedScores, type DynamicBatcherOptions } from "./dynamic-batcher.js";
export { ApiKeySet } from "./api-keys.js";
export type { WinnowServerState } from "./server-state.js";
