import { createRequire } from "node:module";
import type { FirstStageRetriever, RetrieverContext, RetrieverSpec } from "../registry.js";
import type { OpenSearchRetrieverSpec } from "../search-engines/search-engine-schema.js";
import { engineConnection, SearchEngineRetriever, type EngineClient, type EngineConnection } from "../search-engines/search-engine-retriever.js";
import type { SearchResponseBody } from "../search-engines/search-response.js";

type OpenSearchModule = typeof import("@opensearch-project/opensearch");

interface Abortable<T> extends Promise<T> {
  abort?: () => void;
}

/** The official OpenSearch client behind the calls SearchEngineRetriever makes. */
export function openSearchClient(connection: EngineConnection): EngineClient {
  // Required on first use, so `import "winnow"` does not load the client.
  const { Client } = createRequire(import.meta.url)("@opensearch-project/opensearch") as OpenSearchModule;
  const client = new Client({
    nodes: connection.nodes,
    requestTimeout: connection.timeoutMs,
    maxRetries: connection.maxRetries,
    ...(connection.username !== undefined ? { auth: { username: connection.username, password: connection.password ?? "" } } : {}),
    // OpenSearch's security plugin has no API keys of its own; managed services and proxies in front of it take this header.
    ...(connection.apiKey !== undefined ? { headers: { authorization: `ApiKey ${connection.apiKey}` } } : {}),
    ...(connection.ca !== undefined || connection.rejectUnauthorized !== undefined
      ? { ssl: { ...(connection.ca !== undefined ? { ca: connection.ca } : {}), ...(connection.rejectUnauthorized !== undefined ? { rejectUnauthorized: connection.rejectUnauthorized } : {}) } }
      : {}),
  });
  return {
    async search(request, signal) {
      const params = { ...(request.index !== undefined ? { index: request.index } : {}), ...(request.searchPipeline ? { search_pipeline: request.searchPipeline } : {}), body: request.body };
      // The client's promise carries abort(); it takes no AbortSignal.
      const pending = client.search(params as never) as unknown as Abortable<{ body: SearchResponseBody }>;
      // abort() rejects the client's inner promise too; observe it so it is not reported unhandled.
      pending.catch(() => undefined);
      const onAbort = () => pending.abort?.();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        return (await pending).body;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    },
    async openPointInTime(index, keepAlive) {
      const response = await client.createPit({ index, keep_alive: keepAlive } as never);
      return (response.body as { pit_id: string }).pit_id;
    },
    async closePointInTime(id) {
      await client.deletePit({ body: { pit_id: [id] } } as never);
    },
    async close() {
      await client.close();
    },
  };
}

export async function createOpenSearchRetriever(spec: RetrieverSpec, context: RetrieverContext): Promise<FirstStageRetriever> {
  const s = spec as unknown as OpenSearchRetrieverSpec;
  return new SearchEngineRetriever(s, openSearchClient(engineConnection(s, context)), context);
}
