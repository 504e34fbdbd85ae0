import type { ApiKeySet } from "./api-keys.js";
import type { ServerConfig } from "./config.js";
import type { ErrorStyle } from "./http-errors.js";
import type { ServerMetrics } from "./metrics.js";
import type { ServedModelSet } from "./model-set.js";

/** What every route plugin reaches through `fastify.winnow`. */
export interface WinnowServerState {
  config: ServerConfig;
  models: ServedModelSet;
  metrics: ServerMetrics;
  apiKeys: ApiKeySet;
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
