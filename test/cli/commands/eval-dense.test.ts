import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerEmbed } from "../../../src/cli/commands/embed.js";
import { register as registerEval } from "../../../src/cli/commands/eval.js";
import { register as registerIndex } from "../../../src/cli/commands/index.js";
import { register as registerSearch } from "../../../src/cli/commands/search.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { retrieverTypes } from "../../../src/retrieval/registry.js";
import { runCommand } from "../../support/run-command.js";
import { repoPaths } from "../../support/shared-datasets.js";
import { startFakeSearchCluster } from "../../retrieval/opensearch/fake-search-cluster.js";

const mini = join(repoPaths.root, "examples/scifact-mini");

/** `winnow eval --retriever '{"type":"dense","model":DIR}'` on a dataset with no stored embeddings. */
describe("winnow eval with a dense first stage computed on the fly", () => {
  let dir: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-eval-dense-"));
    model = await ensureGeneratedModel("tiny-bi-encoder");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // 64 tokens per text keeps embedding the corpus quick on a busy 2-core machine; the path is the same.
  const evalDense = async (dataset: string, cacheDir: string, ...more: string[]) =>
    JSON.parse(await runCommand(registerEval, ["eval", "--dataset", dataset, "--depth", "100", "--format", "json", "--retriever", JSON.stringify({ type: "dense", model, cacheDir, maxLength: 64 }), ...more]));

  it("embeds the corpus of scifact-mini, caches the vectors, and reuses them on the next run, which reranks them", async () => {
    const cacheDir = join(dir, "cache");
    const first = await evalDense(mini, cacheDir);
    expect(first.retriever).toMatchObject({ type: "dense", model, documents: 683, dim: 128, vectors: "computed" });
    expect(first.numQueries).toBe(300);
    // Random weights rank badly but not randomly (shared tokens still pull vectors together): above zero.
    expect(first.metrics.ndcg_cut_10).toBeGreaterThan(0);
    const files = readdirSync(cacheDir).sort();
    expect(files).toHaveLength(2);
    expect(files.some((f) => f.endsWith(".wnvec")) && files.some((f) => f.endsWith(".json"))).toBe(true);

    // Dense candidates rerank like BM25 ones (the learned reranker falls back to candidate statistics).
    const second = await evalDense(mini, cacheDir, "--reranker", "learned", "--candidates", "20");
    expect(second.retriever).toMatchObject({ vectors: "cached", cacheFile: first.retriever.cacheFile });
    expect(second.firstStage).toEqual(first.metrics);
    expect(second.lift.metrics.ndcg_cut_10.before).toBeCloseTo(first.metrics.ndcg_cut_10, 12);
    expect(second.metrics.ndcg_cut_10).not.toBe(first.metrics.ndcg_cut_10);
  });

  it("recomputes a cache whose checksum fails, and keys entries by the corpus's content", async () => {
    // A 40-document slice keeps the recomputations quick.
    const small = join(dir, "small");
    await cp(mini, small, { recursive: true });
    const lines = readFileSync(join(mini, "corpus.jsonl"), "utf8").split("\n").filter(Boolean).slice(0, 40);
    writeFileSync(join(small, "corpus.jsonl"), lines.join("\n") + "\n");
    const cacheDir = join(dir, "small-cache");
    const first = await evalDense(small, cacheDir);
    expect(first.retriever).toMatchObject({ documents: 40, vectors: "computed" });

    // A flipped byte in the vectors fails the checksum: recomputed (and rewritten), never searched.
    const file = first.retriever.cacheFile as string;
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(file, bytes);
    const again = await evalDense(small, cacheDir);
    expect(again.retriever.vectors).toBe("computed");
    expect(again.metrics).toEqual(first.metrics);
    expect((await evalDense(small, cacheDir)).retriever.vectors).toBe("cached");

    // One changed document is another cache entry.
    lines[0] = JSON.stringify({ ...JSON.parse(lines[0]), text: "a different abstract" });
    writeFileSync(join(small, "corpus.jsonl"), lines.join("\n") + "\n");
    const changed = await evalDense(small, cacheDir);
    expect(changed.retriever.vectors).toBe("computed");
    expect(changed.retriever.cacheFile).not.toBe(first.retriever.cacheFile);

    // Stored vectors (`winnow index` + `winnow embed`) are searched as they are, through --index.
    const indexDir = join(dir, "small-index");
    await runCommand(registerIndex, ["index", "--dataset", small, "--out", indexDir, "-q"]);
    await runCommand(registerEmbed, ["embed", "--index", indexDir, "--embedder", "onnx", "--model", model, "--max-length", "64"]);
    const stored = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", small, "--index", indexDir, "--depth", "100", "--format", "json", "--retriever", "dense"]));
    expect(stored.retriever).toMatchObject({ type: "dense", vectors: "stored", documents: 40 });
    expect(stored.metrics).toEqual(changed.metrics);
    const hits = JSON.parse(await runCommand(registerSearch, ["search", "a different abstract", "--index", indexDir, "--retriever", "dense", "-k", "1", "--format", "json"]));
    expect(hits[0].id).toBe(JSON.parse(lines[0])._id);
    // hybrid's default pair over the same folder: BM25 and the stored vectors, fused.
    const fused = JSON.parse(await runCommand(registerSearch, ["search", "a different abstract", "--index", indexDir, "--retriever", "hybrid", "-k", "3", "--format", "json"]));
    expect(fused).toHaveLength(3);
    // An RRF score: 1/(60 + rank) from each of the two lists at most.
    expect(fused[0].score).toBeGreaterThan(0);
    expect(fused[0].score).toBeLessThanOrEqual(2 / 61 + 1e-12);
    expect(fused[0].id).toBe(JSON.parse(lines[0])._id);
  });

  it("runs with every registered retriever, by name or JSON spec (a row added without a spec here fails)", async () => {
    const cacheDir = join(dir, "cache");
    const dense = { type: "dense", model, cacheDir, maxLength: 64 };
    const someDocs = readFileSync(join(mini, "corpus.jsonl"), "utf8").split("\n").filter(Boolean).slice(0, 50).map((l) => {
      const d = JSON.parse(l);
      return { id: d._id, text: d.text, title: d.title };
    });
    const specs: Record<string, string> = {
      bm25: "bm25",
      "bm25-rm3": "bm25-rm3",
      dense: JSON.stringify(dense),
      hybrid: JSON.stringify({ type: "hybrid", retrievers: [{ type: "bm25" }, dense] }),
      memory: JSON.stringify({ type: "memory", documents: someDocs }),
    };
    // External engines: OpenSearch and Elasticsearch through the fake node that speaks their JSON
    // (test/retrieval/opensearch/fake-search-cluster.ts), holding the whole sample corpus.
    const corpus = readFileSync(join(mini, "corpus.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => {
      const d = JSON.parse(l);
      return { _id: d._id as string, _source: { text: d.text as string, title: d.title as string } };
    });
    const clusters = [await startFakeSearchCluster("opensearch", corpus), await startFakeSearchCluster("elasticsearch", corpus)];
    // ColBERT first stage: a residual token store written by `winnow index --colbert`.
    const colbertModel = await ensureGeneratedModel("tiny-colbert");
    const colbertIndex = join(dir, "colbert-index");
    await runCommand(registerIndex, ["index", "--dataset", mini, "--out", colbertIndex, "--colbert", colbertModel, "--colbert-compression", "residual-2bit"]);
    for (const [i, engine] of (["opensearch", "elasticsearch"] as const).entries()) {
      specs[engine] = JSON.stringify({ type: engine, node: clusters[i]!.url, index: "docs", fields: ["title", "text"], sourceFields: { text: "text", title: "title" } });
    }
    specs.colbert = JSON.stringify({ type: "colbert", index: colbertIndex });
    // PostgreSQL needs a real server: its eval runs (BM25 in SQL and ts_rank_cd) live beside that server's start-up.
    const evaluatedElsewhere: Record<string, string> = { postgres: "test/retrieval/postgres/postgres-retriever.test.ts" };
    const ndcg: Record<string, number> = {};
    try {
      for (const { type } of retrieverTypes()) {
        if (evaluatedElsewhere[type]) {
          const text = readFileSync(join(repoPaths.root, evaluatedElsewhere[type]), "utf8");
          for (const needle of ["registerEval", '"--retriever"', `type: "${type}"`]) expect(text, `${evaluatedElsewhere[type]} runs winnow eval with the ${type} retriever`).toContain(needle);
          continue;
        }
        expect(specs[type], `no eval spec for the registered retriever "${type}"`).toBeDefined();
        const out = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", mini, "--depth", "100", "--format", "json", "--retriever", specs[type]!]));
        expect(out.retriever.type).toBe(type);
        expect(out.numQueries).toBe(300);
        ndcg[type] = out.metrics.ndcg_cut_10;
      }
    } finally {
      await Promise.all(clusters.map((c) => c.close()));
    }
    // The fake engines rank by term counts: something is found, and it is not BM25's ranking.
    expect(ndcg.opensearch).toBeGreaterThan(0);
    expect(ndcg.elasticsearch).toBeGreaterThan(0);
    expect(ndcg.colbert).toBeGreaterThan(0);
    // Fusion changes the ranking: hybrid is neither of its parts.
    expect(ndcg.hybrid).not.toBe(ndcg.bm25);
    expect(ndcg.hybrid).not.toBe(ndcg.dense);
    // Feedback expansion changes the ranking.
    expect(ndcg["bm25-rm3"]).not.toBe(ndcg.bm25);
    // 50 of 683 documents can only find what they hold.
    expect(ndcg.memory).toBeLessThan(ndcg.bm25);
  }, 300_000);
});
