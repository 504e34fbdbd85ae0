import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerEval } from "../../../src/cli/commands/eval.js";
import { register as registerPg } from "../../../src/cli/commands/pg.js";
import { createRetriever } from "../../../src/retrieval/registry.js";
import { runCommand } from "../../support/run-command.js";
import { sharedDataset } from "../../support/shared-datasets.js";
import { startPostgresServer, type PostgresServer } from "./postgres-server.js";

const scifact = sharedDataset("scifact");
const mini = new URL("../../../examples/scifact-mini", import.meta.url).pathname;

let server: PostgresServer;
let client: pg.Client;
beforeAll(async () => {
  server = await startPostgresServer();
  client = new pg.Client({ connectionString: server.url });
  await client.connect();
}, 60_000);
afterAll(async () => {
  await client?.end();
  await server?.stop();
});

async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("postgres retriever on a real PostgreSQL 15", () => {
  it("searches a table the user already has: ts_rank_cd over the columns, filters on jsonb, text and title back", async () => {
    await client.query(`CREATE TABLE articles (article_id integer PRIMARY KEY, headline text, body text, meta jsonb)`);
    await client.query(`INSERT INTO articles VALUES
      (1, 'Cats', 'The cat sat on the mat. Cats love mats.', '{"year": 2020, "lang": "en"}'),
      (2, 'Dogs', 'A dog chased the cat.', '{"year": 2022, "lang": "en"}'),
      (3, 'Birds', 'Birds sing in the morning.', '{"year": 2021, "lang": "de"}'),
      (4, 'Mats', 'Yoga mats and door mats.', '{"year": 2023, "lang": "en"}')`);
    const r = await createRetriever({ type: "postgres", connection: server.url, table: "articles", idColumn: "article_id", textColumns: ["body"], titleColumn: "headline", metadataColumn: "meta" });
    try {
      const hits = await r.search("cats on mats", 10);
      expect(hits.map((h) => h.document.id)).toEqual(["1", "4", "2"]);
      expect(hits[0].score).toBeGreaterThan(hits[1].score);
      expect(hits[0].document).toEqual({ id: "1", text: "The cat sat on the mat. Cats love mats.", title: "Cats", metadata: { year: 2020, lang: "en" } });
      const filtered = await r.search("cats on mats", 10, { filter: { year: { gte: 2021 }, lang: ["en"] } });
      expect(filtered.map((h) => h.document.id)).toEqual(["4", "2"]);
      expect(await r.search("the of and", 10)).toEqual([]);
    } finally {
      await r.close?.();
    }
    const web = await createRetriever({ type: "postgres", connection: server.url, table: "articles", idColumn: "article_id", textColumns: ["body"], match: "websearch" });
    try {
      // websearch_to_tsquery: all words (AND), "-" excludes.
      expect((await web.search("cat mat", 10)).map((h) => h.document.id)).toEqual(["1"]);
      expect((await web.search("cat -mat", 10)).map((h) => h.document.id)).toEqual(["2"]);
    } finally {
      await web.close?.();
    }
  });

  it("names what is wrong: a missing table points at `winnow pg`, a missing column at the spec, filters need metadataColumn", async () => {
    const missing = await createRetriever({ type: "postgres", connection: server.url, table: "nope" });
    const badColumn = await createRetriever({ type: "postgres", connection: server.url, table: "articles", idColumn: "article_id", textColumns: ["bodyy"] });
    const noMeta = await createRetriever({ type: "postgres", connection: server.url, table: "articles", idColumn: "article_id", textColumns: ["body"] });
    try {
      const e1 = await caught(missing.search("x", 3));
      expect([e1.code, e1.message]).toEqual(["NOT_FOUND", expect.stringContaining("winnow pg init")]);
      const e2 = await caught(badColumn.search("x", 3));
      expect([e2.code, e2.message]).toEqual(["CONFIG_INVALID", expect.stringContaining("bodyy")]);
      const e3 = await caught(noMeta.search("cat", 3, { filter: { year: 2020 } }));
      expect(e3.message).toContain("metadataColumn");
      const e4 = await caught(noMeta.search("cat", 3, { filter: { year: 2020 } }));
      expect(e4.code).toBe("INVALID_INPUT");
    } finally {
      await missing.close?.();
      await badColumn.close?.();
      await noMeta.close?.();
    }
    await expect(createRetriever({ type: "postgres", connection: server.url, table: "a; drop table x" })).rejects.toThrow(/table/);
    await expect(createRetriever({ type: "postgres", table: "articles" })).rejects.toThrow(/connection/);
  });

  it("winnow pg init and load are idempotent; BM25 statistics match the table", async () => {
    const args = ["--connection", server.url, "--table", "mini_docs"];
    expect(await runCommand(registerPg, ["pg", "init", ...args])).toBe("mini_docs: created");
    expect(await runCommand(registerPg, ["pg", "init", ...args])).toBe("mini_docs: already present");
    const first = await runCommand(registerPg, ["pg", "load", ...args, "--dataset", mini, "--bm25"]);
    expect(first).toContain("683 documents read, 683 inserted or changed");
    const again = await runCommand(registerPg, ["pg", "load", ...args, "--dataset", mini]);
    // Unchanged rows are not rewritten; the BM25 side tables exist, so they are refreshed.
    expect(again).toContain("683 documents read, 0 inserted or changed");
    expect(again).toContain("BM25 statistics over 683 documents");
    const counts = (await client.query(`SELECT (SELECT count(*) FROM mini_docs) AS docs, (SELECT n FROM mini_docs_bm25_stats) AS n, (SELECT count(*) FROM winnow_migrations) AS migrations`)).rows[0];
    expect(counts).toEqual({ docs: "683", n: "683", migrations: "1" });
    // df of a term equals the number of documents whose tsvector holds it.
    const df = (await client.query(`SELECT df, (SELECT count(*) FROM mini_docs WHERE tsv @@ 'cell'::tsquery)::int AS direct FROM mini_docs_bm25_terms WHERE term = 'cell'`)).rows[0];
    expect(df.df).toBe(df.direct);
    expect(df.df).toBeGreaterThan(10);
  });

  it("winnow eval takes the postgres retriever: BM25 in SQL and ts_rank_cd on the bundled SciFact sample", async () => {
    const base = { type: "postgres", connection: server.url, table: "mini_docs", titleColumn: "title", metadataColumn: "metadata", tsvectorColumn: "tsv" };
    const evalWith = async (retriever: object) => JSON.parse(await runCommand(registerEval, ["eval", "--dataset", mini, "--format", "json", "--depth", "100", "--retriever", JSON.stringify(retriever)]));
    const bm25 = await evalWith({ ...base, ranking: "bm25" });
    const tsRank = await evalWith({ ...base, ranking: "ts_rank_cd" });
    expect(tsRank.retriever).toMatchObject({ type: "postgres", ranking: "ts_rank_cd", match: "any" });
    // ts_rank_cd ignores document frequency: a real but weaker first stage, reported, not hidden.
    expect(tsRank.metrics.ndcg_cut_10).toBeGreaterThan(0.3);
    expect(tsRank.metrics.ndcg_cut_10).toBeLessThan(bm25.metrics.ndcg_cut_10);
  }, 120_000);

  it.skipIf(!scifact.present)(`winnow eval on SciFact: BM25 in SQL is within 0.01 nDCG@10 of Winnow's BM25${scifact.skipNote}`, async () => {
    await runCommand(registerPg, ["pg", "load", "--connection", server.url, "--table", "scifact", "--dataset", scifact.dir, "--bm25"]);
    const evalWith = async (retriever?: object) =>
      JSON.parse(await runCommand(registerEval, ["eval", "--dataset", scifact.dir, "--format", "json", "--depth", "100", ...(retriever ? ["--retriever", JSON.stringify(retriever)] : [])]));
    const winnow = await evalWith();
    const bm25 = await evalWith({ type: "postgres", connection: server.url, table: "scifact", titleColumn: "title", tsvectorColumn: "tsv", ranking: "bm25" });
    expect(bm25.retriever).toMatchObject({ type: "postgres", ranking: "bm25", k1: 0.9, b: 0.4 });
    expect(bm25.numQueries).toBe(winnow.numQueries);
    const gap = Math.abs(bm25.metrics.ndcg_cut_10 - winnow.metrics.ndcg_cut_10);
    console.log(`SciFact nDCG@10: winnow bm25 ${winnow.metrics.ndcg_cut_10.toFixed(4)}, postgres bm25 ${bm25.metrics.ndcg_cut_10.toFixed(4)} (gap ${gap.toFixed(4)})`);
    expect(gap).toBeLessThanOrEqual(0.01);
    expect(bm25.metrics.ndcg_cut_10).toBeGreaterThan(0.6);
  }, 180_000);
});
