import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWinnowError } from "../../../src/core/errors.js";
import { createRetriever, type FirstStageRetriever } from "../../../src/retrieval/registry.js";
import { startFakeSearchCluster, type FakeDocument, type FakeSearchCluster } from "./fake-search-cluster.js";

export const corpus: FakeDocument[] = [
  { _id: "d1", _source: { text: "apple banana", title: "fruit", year: 2020 }, vector: [1, 1] },
  { _id: "d2", _source: { text: "apple apple apple", title: "apples", year: 2021 }, vector: [3, 0] },
  { _id: "d3", _source: { text: "banana bread", title: "baking", year: 2022 }, vector: [1, 2] },
  { _id: "d4", _source: { text: "cherry pie with apple", year: 2023 }, vector: [1, 0] },
  { _id: "d5", _source: { text: "apple apple", year: 2019 }, vector: [2, 0] },
  { _id: "d6", _source: { text: "apple of my eye", year: 2024 }, vector: [1, 0] },
  { _id: "d7", _source: { text: "an apple a day", year: 2018 }, vector: [4, 0] },
  { _id: "d8", _source: { body: "no text field here apple" }, vector: [1, 0] },
];

async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

/** The behaviour both engines share: the lexical request, paging, errors, timeouts, partial shard failures. */
export function describeSearchEngine(engine: "opensearch" | "elasticsearch"): void {
  describe(`${engine} retriever against a fake node speaking the documented JSON`, () => {
    let cluster: FakeSearchCluster;
    const warnings: string[] = [];
    const open = (extra: Record<string, unknown> = {}): Promise<FirstStageRetriever> =>
      createRetriever({ type: engine, node: cluster.url, index: "docs", maxRetries: 0, ...extra }, { warn: (m) => warnings.push(m) });

    beforeAll(async () => {
      cluster = await startFakeSearchCluster(engine, corpus);
    });
    afterAll(async () => {
      await cluster?.close();
    });

    it("sends multi_match over the fields and ranks by the engine's scores, reading text from _source", async () => {
      const r = await open({ fields: ["text", "title^2"], sourceFields: { text: "text", title: "title" } });
      try {
        const hits = await r.search("banana", 3);
        const req = cluster.requests.at(-1)!;
        expect(req.method).toBe("POST");
        expect(req.path).toBe("/docs/_search");
        expect(req.body).toEqual({ size: 3, _source: ["text", "title"], track_total_hits: false, query: { multi_match: { query: "banana", fields: ["text", "title^2"], type: "best_fields" } } });
        expect(hits.map((h) => [h.document.id, h.score, h.rank])).toEqual([["d1", 1, 1], ["d3", 1, 2]]);
        expect(hits[0].document).toEqual({ id: "d1", text: "apple banana", title: "fruit" });
        expect(hits[0].source).toBe(engine);
      } finally {
        await r.close?.();
      }
    });

    it("fills a query template's {{query}} as a string (quotes cannot break out) and passes filters through", async () => {
      const r = await open({ query: { match: { text: { query: "{{query}}" } } }, filters: [{ range: { year: { gte: 2020 } } }] });
      try {
        const hits = await r.search('apple "x', 10, { filter: { year: [2021, 2023, 2024, 2018] } });
        const body = cluster.requests.at(-1)!.body;
        expect(body.query).toEqual({ bool: { must: [{ match: { text: { query: 'apple "x' } } }], filter: [{ range: { year: { gte: 2020 } } }, { terms: { year: [2021, 2023, 2024, 2018] } }] } });
        expect(hits.map((h) => h.document.id)).toEqual(["d2", "d4", "d6"]);
      } finally {
        await r.close?.();
      }
    });

    it("refuses a template without the placeholder, naming the field", async () => {
      const err = await caught(open({ query: { match_all: {} } }));
      expect(isWinnowError(err) && err.code).toBe("CONFIG_INVALID");
      expect(err.message).toContain("query");
    });

    it("pages a list deeper than pageSize with a point in time and search_after, then closes it", async () => {
      const oneShot = await open();
      const paged = await open({ pageSize: 2 });
      try {
        const expected = await oneShot.search("apple", 7);
        const before = cluster.requests.length;
        const hits = await paged.search("apple", 7);
        expect(hits.map((h) => h.document.id)).toEqual(expected.map((h) => h.document.id));
        // Six documents match; the fourth page (size 1) comes back empty and ends the walk.
        expect(expected).toHaveLength(6);
        expect(hits.map((h) => h.rank)).toEqual([1, 2, 3, 4, 5, 6]);
        const calls = cluster.requests.slice(before);
        const pages = calls.filter((c) => c.path === "/_search");
        expect(pages).toHaveLength(4);
        expect(pages[0].body.search_after).toBeUndefined();
        expect(pages[1].body.search_after).toEqual(engine === "elasticsearch" ? [expected[1].score, corpus.findIndex((d) => d._id === expected[1].document.id)] : [expected[1].score, expected[1].document.id]);
        expect(pages.every((p) => p.body.pit?.keep_alive === "1m")).toBe(true);
        expect(cluster.openPits()).toBe(0);
        expect(calls.at(-1)!.method).toBe("DELETE");
      } finally {
        await oneShot.close?.();
        await paged.close?.();
      }
    });

    it("a 404 and a 400 are typed errors with the engine's reason, a 5xx an upstream error", async () => {
      const r = await open({ index: "missing" });
      const ok = await open();
      try {
        const notFound = await caught(r.search("apple", 3));
        expect(notFound.code).toBe("NOT_FOUND");
        expect(notFound.message).toContain("index_not_found_exception: no such index [missing]");
        cluster.failNext(400, { error: { root_cause: [{ type: "parsing_exception", reason: "unknown query [mach]" }], type: "parsing_exception", reason: "unknown query [mach]" }, status: 400 });
        const bad = await caught(ok.search("apple", 3));
        expect(bad.code).toBe("INVALID_INPUT");
        expect(bad.message).toContain("HTTP 400: parsing_exception: unknown query [mach]");
        cluster.failNext(503, { error: { root_cause: [{ type: "cluster_block_exception", reason: "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered]" }], type: "cluster_block_exception" }, status: 503 });
        const down = await caught(ok.search("apple", 3));
        expect(down.code).toBe("UPSTREAM_ERROR");
        expect(down.message).toContain("HTTP 503");
        expect((await ok.search("apple", 1)).map((h) => h.document.id)).toEqual(["d2"]);
      } finally {
        await r.close?.();
        await ok.close?.();
      }
    });

    it("a node that answers too late is a TIMEOUT naming timeoutMs", async () => {
      const r = await open({ timeoutMs: 100 });
      cluster.delaySearches(400);
      try {
        const err = await caught(r.search("apple", 3));
        expect(err.code).toBe("TIMEOUT");
        expect(err.message).toContain("timeoutMs");
      } finally {
        cluster.delaySearches(0);
        await r.close?.();
      }
    });

    it("failed shards: the hits come back and a warning says they are partial", async () => {
      const r = await open();
      warnings.length = 0;
      cluster.failShards(2);
      try {
        const hits = await r.search("banana", 5);
        expect(hits).toHaveLength(2);
        expect(warnings).toEqual([`${engine} retriever: 2 of 5 shards failed, hits are partial: node_not_connected_exception: [n1] Node not connected`]);
        expect(r.describe?.()).toMatchObject({ partialResponses: 1 });
      } finally {
        cluster.failShards(0);
        await r.close?.();
      }
    });

    it("a hit without the text field is warned about once, not passed silently", async () => {
      const r = await open();
      warnings.length = 0;
      try {
        const hits = await r.search("here", 5);
        expect(hits.map((h) => [h.document.id, h.document.text])).toEqual([]);
        const byBody = await open({ fields: ["body"], sourceFields: { text: "text" } });
        const got = await byBody.search("here", 5);
        expect(got.map((h) => [h.document.id, h.document.text])).toEqual([["d8", ""]]);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain("no string _source.text");
        await byBody.close?.();
      } finally {
        await r.close?.();
      }
    });

    it("bad specs fail on their field before anything connects", async () => {
      await expect(createRetriever({ type: engine, node: "not a url", index: "docs" })).rejects.toThrow(/node/);
      await expect(createRetriever({ type: engine, node: cluster.url, index: "docs", mode: "knn" })).rejects.toThrow(/knn/);
      await expect(createRetriever({ type: engine, node: cluster.url, index: "docs", pageSize: 20_000 })).rejects.toThrow(/pageSize/);
      await expect(createRetriever({ type: engine, node: cluster.url, index: "docs", auth: { apiKeyEnv: "WINNOW_TEST_NO_SUCH_VAR" } })).rejects.toThrow(/WINNOW_TEST_NO_SUCH_VAR is not set/);
    });

    it("sends the configured credentials", async () => {
      const basic = await open({ auth: { username: "elastic", password: "s3cret" } });
      const key = await open({ auth: { apiKey: "a2V5OnZhbHVl" } });
      try {
        await basic.search("apple", 1);
        expect(cluster.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from("elastic:s3cret").toString("base64")}`);
        await key.search("apple", 1);
        expect(cluster.requests.at(-1)!.headers.authorization).toBe("ApiKey a2V5OnZhbHVl");
      } finally {
        await basic.close?.();
        await key.close?.();
      }
    });
  });
}
