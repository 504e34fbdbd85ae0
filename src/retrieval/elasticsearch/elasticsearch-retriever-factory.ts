import { createRequire } from "node:module";
import type { FirstStageRetriever, RetrieverContext, RetrieverSpec } from "../registry.js";
import type { ElasticsearchRetrieverSpec } from "../search-engines/search-engine-schema.js";
import { engineConnection, SearchEngineRetriever, type EngineClient, type EngineConnection } from "../search-engines/search-engine-retriever.js";
import type { SearchResponseBody } from "../search-engines/search-response.js";

type ElasticsearchModule = typeof import("@elastic/elasticsearch");

/** The official Elasticsearch 8 client behind the calls SearchEngineRetriever makes. */
export function elasticsearchClient(connection: EngineConnection): EngineClient {
  // Required on first use, so `import "winnow"` does not load the client.
  const { Client } = createRequire(import.meta.url)("@elastic/elasticsearch") as ElasticsearchModule;
  const auth = connection.apiKey !== undefined ? { apiKey: connection.apiKey } : connection.username !== undefined ? { username: connection.username, password: connection.password ?? "" } : undefined;
  const client = new Client({
    nodes: connection.nodes,
    requestTimeout: connection.timeoutMs,
    maxRetries: connection.maxRetries,
    ...(auth ? { auth } : {}),
    ...(connection.ca !== undefined || connection.rejectUnauthorized !== undefined
      ? { tls: { ...(connection.ca !== undefined ? { ca: connection.ca } : {}), ...(connection.rejectUnauthorized !== undefined ? { rejectUnauthorized: connection.rejectUnauthorized } : {}) } }
      : {}),
  });
  return {
    async search(request, signal) {
      // The 8.x client takes the body's keys at the top level of the request.
      const params = { ...(request.index !== undefined ? { index: request.index } : {}), ...request.body };
      return (await client.search(params as never, signal ? { signal } : {})) as unknown as SearchResponseBody;
    },
    async openPointInTime(index, keepAlive) {
      return (await client.openPointInTime({ index, keep_alive: keepAlive })).id;
    },
    async closePointInTime(id) {
      await client.closePointInTime({ id });
    },
    async close() {
      await client.close();
    },
  };
}

export async function createElasticsearchRetriever(spec: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  const s = spec as unknown as ElasticsearchRetrieverSpec;
  return new SearchEngineRetriever(s, elasticsearchClient(engineConnection(s, context)), context);
}
