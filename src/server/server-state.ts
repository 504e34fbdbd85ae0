import type { ApiKeySet } from "./api-keys.js";
import type { ServerConfig } from "./config.js";
import type { ErrorStyle } from "./http-errors.js";
import type { ServerMetrics } from "./metrics.js";
import type { ServedModelSet } from "./model-set.js";
import type { ServedPipeline } from "./served-pipeline.js";
import type { ConnectionGuard } from "./connection-guard.js";
import type { RequestLog } from "./request-log.js";
import type { SharedScoreCache } from "./shared-score-cache.js";

/** What every route plugin reaches through `fastify.winnow`. */
export interface WinnowServerState {
  config: ServerConfig;
  models: ServedModelSet;
  /** The pipeline behind POST /v1/search, when the config names one. */
  pipeline?: ServedPipeline;
  metrics: ServerMetrics;
  /** The sampled request log, when the config asks for one. */
  requestLog?: RequestLog;
  apiKeys: ApiKeySet;
  /**
   * Aborted when the server gives up on work in flight (the shutdown deadline passed):
   * every rerank call listens and fails at once with its reason (a 503).
   */
  shutdown: AbortController;
  /** The HTTP connections: slow clients, drained refusals, closing at shutdown. */
  connections: ConnectionGuard;
  /** The Redis score cache every batched model shares, when the config names one. */
  sharedCache?: SharedScoreCache;
  /** Set when a signal started the drain: /ready answers 503 so load balancers route elsewhere. */
  draining: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    winnow: WinnowServerState;
  }
  interface FastifyContextConfig {
    /** The error body format of the route's API family. */
    errorStyle?: ErrorStyle;
  }
}
