import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local stand-in for one OpenSearch or Elasticsearch node, speaking the request and
 * response JSON of the engines' API references:
 * - Elasticsearch 8 search: https://www.elastic.co/guide/en/elasticsearch/reference/8.19/search-search.html
 *   (response: took, timed_out, _shards {total, successful, skipped, failed, failures[]}, hits {hits[] {_index, _id, _score, _source, sort}})
 * - Elasticsearch point in time: https://www.elastic.co/guide/en/elasticsearch/reference/8.19/point-in-time-api.html
 *   (POST /<index>/_pit?keep_alive=1m → {id}; DELETE /_pit {id} → {succeeded, num_freed}; searches return pit_id)
 * - Elasticsearch search_after: https://www.elastic.co/guide/en/elasticsearch/reference/8.19/paginate-search-results.html
 *   (with a PIT the implicit tiebreaker is _shard_doc, so every hit's sort is [score, shard_doc])
 * - Elasticsearch kNN: https://www.elastic.co/guide/en/elasticsearch/reference/8.19/knn-search.html
 *   (top-level knn {field, query_vector, k, num_candidates, filter, boost}; with `query` the scores are summed)
 * - Elasticsearch errors: https://www.elastic.co/guide/en/elasticsearch/reference/8.19/common-options.html
 *   ({error: {root_cause: [{type, reason}], type, reason}, status}); every response carries x-elastic-product: Elasticsearch,
 *   which the 8.x client checks (https://www.elastic.co/guide/en/elasticsearch/client/javascript-api/8.19/connecting.html)
 * - OpenSearch search: https://opensearch.org/docs/latest/api-reference/search-apis/search/
 * - OpenSearch point in time: https://opensearch.org/docs/latest/search-plugins/searching-data/point-in-time-api/
 *   (POST /<index>/_search/point_in_time?keep_alive=1m → {pit_id, _shards, creation_time}; DELETE /_search/point_in_time {pit_id: [...]} → {pits: [{pit_id, successful}]})
 * - OpenSearch k-NN query: https://opensearch.org/docs/latest/query-dsl/specialized/k-nn/ ({knn: {<field>: {vector, k, filter}}})
 * - OpenSearch hybrid query: https://opensearch.org/docs/latest/query-dsl/compound/hybrid/ ({hybrid: {queries: [...]}}, ?search_pipeline=)
 *
 * Scoring is a simple term count (the protocol is what is under test, not BM25): a
 * document scores the summed occurrences of query terms in the searched fields, times the
 * field's boost; kNN scores are dot products.
 */
export interface FakeDocument {
  _id: string;
  _source: Record<string, unknown>;
  vector?: number[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: any;
  headers: IncomingMessage["headers"];
}

export interface FakeSearchCluster {
  url: string;
  requests: RecordedRequest[];
  /** Answer the next search with this HTTP status and body. */
  failNext(status: number, body: unknown): void;
  /** Report this many failed shards (of 5) on every search from now on. */
  failShards(count: number): void;
  /** Wait this long before answering searches (timeouts). */
  delaySearches(ms: number): void;
  openPits(): number;
  close(): Promise<void>;
}

const tokens = (s: string) => s.toLowerCase().split(/\W+/).filter(Boolean);

function termScore(doc: FakeDocument, text: string, fields: string[]): number {
  let score = 0;
  const terms = tokens(text);
  for (const f of fields) {
    const [name, boost] = f.split("^");
    const value = doc._source[name];
    if (typeof value !== "string") continue;
    const words = tokens(value);
    for (const t of terms) score += words.filter((w) => w === t).length * Number(boost ?? 1);
  }
  return score;
}

function passes(doc: FakeDocument, clauses: any[] | undefined): boolean {
  for (const c of clauses ?? []) {
    if (c.term) {
      const [f, v] = Object.entries(c.term)[0];
      if (doc._source[f] !== v) return false;
    } else if (c.terms) {
      const [f, v] = Object.entries(c.terms)[0] as [string, unknown[]];
      if (!v.includes(doc._source[f])) return false;
    } else if (c.range) {
      const [f, r] = Object.entries(c.range)[0] as [string, Record<string, number>];
      const x = doc._source[f] as number;
      if ((r.gte !== undefined && !(x >= r.gte)) || (r.lte !== undefined && !(x <= r.lte)) || (r.gt !== undefined && !(x > r.gt)) || (r.lt !== undefined && !(x < r.lt))) return false;
    } else if (c.bool?.filter) {
      if (!passes(doc, c.bool.filter)) return false;
    } else throw new Error(`fake cluster: unsupported filter ${JSON.stringify(c)}`);
  }
  return true;
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

/** Scores of one query DSL object over the documents (undefined: no match). */
function scoreQuery(query: any, doc: FakeDocument): number | undefined {
  if (query.multi_match) {
    const s = termScore(doc, query.multi_match.query, query.multi_match.fields);
    return s > 0 ? s : undefined;
  }
  if (query.match) {
    const [f, v] = Object.entries(query.match)[0] as [string, any];
    const s = termScore(doc, typeof v === "string" ? v : v.query, [f]);
    return s > 0 ? s : undefined;
  }
  if (query.bool) {
    if (!passes(doc, query.bool.filter)) return undefined;
    let total = 0;
    for (const m of query.bool.must ?? []) {
      const s = scoreQuery(m, doc);
      if (s === undefined) return undefined;
      total += s;
    }
    return total * (query.bool.boost ?? 1);
  }
  if (query.knn) {
    const [field, spec] = Object.entries(query.knn)[0] as [string, any];
    if (field !== "vector" || !doc.vector) return undefined;
    if (spec.filter && !passes(doc, [spec.filter])) return undefined;
    return dot(doc.vector, spec.vector);
  }
  if (query.hybrid) {
    // The normalization processor: min-max per sub-query, arithmetic mean.
    throw new Error("hybrid is scored over the whole list");
  }
  throw new Error(`fake cluster: unsupported query ${JSON.stringify(query)}`);
}

export async function startFakeSearchCluster(engine: "opensearch" | "elasticsearch", docs: FakeDocument[]): Promise<FakeSearchCluster> {
  const requests: RecordedRequest[] = [];
  let nextFailure: { status: number; body: unknown } | undefined;
  let failedShards = 0;
  let delayMs = 0;
  const pits = new Set<string>();
  let pitSeq = 0;
  const shardDoc = new Map(docs.map((d, i) => [d._id, i]));

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (engine === "elasticsearch") headers["x-elastic-product"] = "Elasticsearch";
    res.writeHead(status, headers);
    res.end(JSON.stringify(body));
  };

  const rank = (body: any, query: URLSearchParams): Array<{ doc: FakeDocument; score: number }> => {
    let scored: Array<{ doc: FakeDocument; score: number }> = [];
    const q = body.query;
    if (q?.hybrid) {
      if (!query.get("search_pipeline")) throw Object.assign(new Error("hybrid without pipeline"), { status: 400 });
      const parts = (q.hybrid.queries as any[]).map((sub) => {
        const list = docs.map((doc) => ({ doc, score: scoreQuery(sub, doc) })).filter((x) => x.score !== undefined) as Array<{ doc: FakeDocument; score: number }>;
        const max = Math.max(...list.map((x) => x.score));
        const min = Math.min(...list.map((x) => x.score));
        return new Map(list.map((x) => [x.doc._id, max === min ? 1 : (x.score - min) / (max - min)]));
      });
      for (const doc of docs) {
        const s = parts.map((p) => p.get(doc._id));
        if (s.every((x) => x === undefined)) continue;
        scored.push({ doc, score: s.reduce<number>((a, x) => a + (x ?? 0), 0) / parts.length });
      }
    } else {
      for (const doc of docs) {
        let score: number | undefined = q ? scoreQuery(q, doc) : undefined;
        if (body.knn) {
          const k = body.knn;
          const v = doc.vector && passes(doc, k.filter) ? dot(doc.vector, k.query_vector) * (k.boost ?? 1) : undefined;
          score = v === undefined ? score : (score ?? 0) + v;
        }
        if (score !== undefined) scored.push({ doc, score });
      }
    }
    scored.sort((a, b) => b.score - a.score || (shardDoc.get(a.doc._id)! - shardDoc.get(b.doc._id)!));
    return scored;
  };

  const search = async (res: ServerResponse, body: any, query: URLSearchParams) => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    if (nextFailure) {
      const f = nextFailure;
      nextFailure = undefined;
      return send(res, f.status, f.body);
    }
    if (body.pit && !pits.has(body.pit.id)) {
      return send(res, 404, { error: { root_cause: [{ type: "search_context_missing_exception", reason: "No search context found" }], type: "search_phase_execution_exception", reason: "all shards failed" }, status: 404 });
    }
    let ranked = rank(body, query);
    const sortValue = (x: { doc: FakeDocument; score: number }) => (engine === "elasticsearch" ? [x.score, shardDoc.get(x.doc._id)!] : [x.score, x.doc._id]);
    if (body.search_after) {
      const [s, t] = body.search_after;
      ranked = ranked.filter((x) => {
        const [xs, xt] = sortValue(x);
        return xs < s || (xs === s && xt > t);
      });
    }
    const size = body.size ?? 10;
    if (!body.pit && size > 10_000) {
      return send(res, 400, { error: { root_cause: [{ type: "illegal_argument_exception", reason: "Result window is too large, from + size must be less than or equal to: [10000]" }], type: "search_phase_execution_exception", reason: "all shards failed" }, status: 400 });
    }
    const fields: string[] | undefined = body._source;
    const hits = ranked.slice(0, size).map((x) => ({
      _index: "docs",
      _id: x.doc._id,
      _score: x.score,
      _source: fields ? Object.fromEntries(fields.filter((f) => f in x.doc._source).map((f) => [f, x.doc._source[f]])) : x.doc._source,
      ...(body.sort ? { sort: sortValue(x) } : {}),
    }));
    const failures = Array.from({ length: failedShards }, (_, i) => ({ shard: i, index: "docs", node: "n1", reason: { type: "node_not_connected_exception", reason: "[n1] Node not connected" } }));
    send(res, 200, {
      took: 1,
      timed_out: false,
      ...(body.pit ? { pit_id: body.pit.id } : {}),
      _shards: { total: 5, successful: 5 - failedShards, skipped: 0, failed: failedShards, ...(failedShards ? { failures } : {}) },
      hits: { max_score: hits[0]?._score ?? null, hits },
    });
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const raw = Buffer.concat(chunks).toString("utf8");
      const body = raw ? JSON.parse(raw) : undefined;
      requests.push({ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, body, headers: req.headers });
      const path = url.pathname;
      void (async () => {
        try {
          if (path === "/v1/embeddings") {
            // An OpenAI-compatible embedder for kNN queries: the vector counts the letters a and b.
            const input: string[] = body.input;
            return send(res, 200, { data: input.map((t, index) => ({ index, embedding: [(t.match(/a/g) ?? []).length, (t.match(/b/g) ?? []).length] })) });
          }
          if (engine === "elasticsearch" && req.method === "POST" && /^\/[^/_][^/]*\/_pit$/.test(path)) {
            const id = `pit-${++pitSeq}`;
            pits.add(id);
            return send(res, 200, { id });
          }
          if (engine === "elasticsearch" && req.method === "DELETE" && path === "/_pit") {
            const freed = pits.delete(body.id);
            return send(res, 200, { succeeded: true, num_freed: freed ? 1 : 0 });
          }
          if (engine === "opensearch" && req.method === "POST" && /^\/[^/_][^/]*\/_search\/point_in_time$/.test(path)) {
            const id = `pit-${++pitSeq}`;
            pits.add(id);
            return send(res, 200, { pit_id: id, _shards: { total: 5, successful: 5, skipped: 0, failed: 0 }, creation_time: Date.now() });
          }
          if (engine === "opensearch" && req.method === "DELETE" && path === "/_search/point_in_time") {
            const ids: string[] = body.pit_id;
            return send(res, 200, { pits: ids.map((id) => ({ pit_id: id, successful: pits.delete(id) })) });
          }
          if ((req.method === "POST" || req.method === "GET") && /^(\/[^/_][^/]*)?\/_search$/.test(path)) {
            if (path !== "/_search" && !path.startsWith("/docs/")) {
              const index = path.split("/")[1];
              return send(res, 404, { error: { root_cause: [{ type: "index_not_found_exception", reason: `no such index [${index}]` }], type: "index_not_found_exception", reason: `no such index [${index}]` }, status: 404 });
            }
            return await search(res, body ?? {}, url.searchParams);
          }
          send(res, 404, { error: { root_cause: [{ type: "fake", reason: `no route ${req.method} ${path}` }] }, status: 404 });
        } catch (err) {
          send(res, (err as { status?: number }).status ?? 500, { error: { root_cause: [{ type: "fake_error", reason: (err as Error).message }] }, status: 500 });
        }
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (status, body) => (nextFailure = { status, body }),
    failShards: (n) => (failedShards = n),
    delaySearches: (ms) => (delayMs = ms),
    openPits: () => pits.size,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
