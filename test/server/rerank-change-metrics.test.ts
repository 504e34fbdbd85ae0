import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CandidateInput, QueryInput, RankedResult, Reranker } from "../../src/core/types.js";
import { createServer } from "../../src/server/index.js";

/** Returns the request's documents in reverse order: the change metrics' values are known. */
const reversing: Reranker = {
  name: "reversing",
  async rerank(_q: QueryInput, candidates: readonly CandidateInput[], options = {}): Promise<RankedResult[]> {
    const all = candidates.map((_, i) => ({ index: i, id: String(i), score: i })).reverse();
    return options.topN === undefined ? all : all.slice(0, options.topN);
  },
};

describe("server metrics of how reranking changes the request's order", () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = createServer({ logLevel: "silent", port: 0, models: [{ id: "rev", reranker: reversing }] }, { env: {} });
    await app.listen({ host: "127.0.0.1", port: 0 });
    await app.winnow.models.loadAll();
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => app.close());

  it("exports top-n overlap, Kendall's tau and mean displacement per model", async () => {
    const post = (body: unknown) => fetch(`${url}/v2/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    // all 4 back, reversed: overlap 1, tau −1, displacement (3+1+1+3)/4 = 2
    expect((await post({ model: "rev", query: "q", documents: ["a", "b", "c", "d"] })).status).toBe(200);
    // top 2 of 4, reversed: overlap 0, tau −1, displacement (3+1)/2 = 2
    expect((await post({ model: "rev", query: "q", documents: ["a", "b", "c", "d"], top_n: 2 })).status).toBe(200);
    const text = await (await fetch(`${url}/metrics`)).text();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"+.]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value('winnow_rerank_top_overlap_ratio_sum{model="rev"}')).toBe(1);
    expect(value('winnow_rerank_top_overlap_ratio_count{model="rev"}')).toBe(2);
    expect(value('winnow_rerank_top_overlap_ratio_bucket{le="0.1",model="rev"}')).toBe(1);
    expect(value('winnow_rerank_kendall_tau_sum{model="rev"}')).toBe(-2);
    expect(value('winnow_rerank_kendall_tau_bucket{le="-0.8",model="rev"}')).toBe(2);
    expect(value('winnow_rerank_mean_displacement_sum{model="rev"}')).toBe(4);
    expect(value('winnow_rerank_mean_displacement_count{model="rev"}')).toBe(2);
  });
});
