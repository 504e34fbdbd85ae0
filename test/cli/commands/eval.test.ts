import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerEval } from "../../../src/cli/commands/eval.js";
import { register as registerMetrics } from "../../../src/cli/commands/metrics.js";
import { UsageError } from "../../../src/cli/usage-error.js";
import { WinnowError } from "../../../src/core/errors.js";
import type { Candidate, QueryInput, RankedResult } from "../../../src/core/types.js";
import { readCorpus } from "../../../src/eval/readers/beir.js";
import { registerReranker } from "../../../src/rerankers/registry.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { runCommand } from "../../support/run-command.js";
import { repoPaths } from "../../support/shared-datasets.js";

const mini = join(repoPaths.root, "examples/scifact-mini");

// A reranker that reverses the first-stage order: deterministic, and certain to change the top 10.
registerReranker("test-reverse", async () => ({
  name: "test-reverse",
  async rerank(_q: QueryInput, candidates: readonly unknown[]): Promise<RankedResult[]> {
    return candidates.map((c, index) => ({ index, id: (c as Candidate).document.id, score: index }));
  },
}));

describe("winnow eval", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-eval-cli-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("evaluates BM25 and writes a run that `winnow metrics` scores identically", async () => {
    const runOut = join(dir, "bm25.run");
    const out = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", mini, "--format", "json", "--run-out", runOut, "--depth", "100"]));
    for (const name of ["ndcg_cut_10", "recall_100", "recall_1000", "map", "recip_rank", "P_10"]) expect(out.metrics).toHaveProperty(name);
    expect(out.retriever).toMatchObject({ type: "bm25", k1: 0.9, b: 0.4, documents: 683 });
    expect(out.timings.search.queries).toBe(out.numQueries);
    expect(out.timings.search.queriesPerSecond).toBeGreaterThan(0);
    expect(out.lift).toBeUndefined();
    const again = JSON.parse(await runCommand(registerMetrics, ["metrics", "--qrels", join(mini, "qrels/test.tsv"), "--run", runOut, "--format", "json"]));
    expect(again.metrics).toEqual(out.metrics);

    // A saved index gives the same figures; --k1 overrides the saved parameter at search time.
    const indexDir = join(dir, "index");
    await (await Bm25Index.build(readCorpus(mini))).save(indexDir);
    const loaded = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", mini, "--index", indexDir, "--format", "json", "--depth", "100"]));
    expect(loaded.metrics).toEqual(out.metrics);
    expect(loaded.retriever).toMatchObject({ index: indexDir, documents: null, k1: 0.9 });
    const k1 = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", mini, "--index", indexDir, "--k1", "3", "--format", "json", "--depth", "100"]));
    expect(k1.retriever.k1).toBe(3);
    expect(k1.metrics.map).not.toBe(out.metrics.map);
  });

  it("reranks the top candidates with --reranker and reports first stage, lift and rerank latency", async () => {
    const out = JSON.parse(
      await runCommand(registerEval, ["eval", "--dataset", mini, "--reranker", "test-reverse", "-O", "apiKey=sk-123", "--candidates", "10", "--depth", "100", "--format", "json"]),
    );
    // Credentials given with -O never reach the output.
    expect(out.reranker).toEqual({ type: "test-reverse", apiKey: "[redacted]" });
    expect(out.candidates).toBe(10);
    // Reversing the top 10 keeps the set (recall_100 unchanged) but changes every multi-hit order.
    expect(out.metrics.recall_100).toBeCloseTo(out.firstStage.recall_100, 12);
    // The candidates are the top of the first-stage run as trec_eval orders it, so reordering them never changes the set.
    expect(out.lift.topK.setChanged).toBe(0);
    expect(out.lift.topK.orderChanged).toBeGreaterThan(0.9);
    expect(out.metrics.ndcg_cut_10).toBeLessThan(out.firstStage.ndcg_cut_10);
    expect(out.lift.metrics.ndcg_cut_10.delta).toBeCloseTo(out.metrics.ndcg_cut_10 - out.firstStage.ndcg_cut_10, 12);
    expect(out.timings.rerank.p95Ms).toBeGreaterThanOrEqual(out.timings.rerank.p50Ms);
    const table = await runCommand(registerEval, ["eval", "--dataset", mini, "--reranker", "test-reverse", "--candidates", "10", "--depth", "100"]);
    expect(table).toMatch(/^run\s+ndcg_cut_10/);
    expect(table).toMatch(/\nbm25 → test-reverse@10\s/);
    expect(table).toMatch(/top-10 changed: set 0\.0%, order [\d.]+% of \d+ queries/);
    expect(table).toMatch(/rerank p50 [\d.]+ ms, p95 [\d.]+ ms per query \(10 candidates\)/);
  });

  it("names the file and line of bad input", async () => {
    const broken = join(dir, "broken");
    await cp(mini, broken, { recursive: true });
    const fail = (args: string[]): Promise<Error> =>
      runCommand(registerEval, ["eval", "--dataset", broken, ...args]).then(
        () => new Error("expected a failure"),
        (e: unknown) => e as Error,
      );

    await writeFile(join(broken, "qrels", "dev.tsv"), "query-id\tcorpus-id\tscore\n1\t31715818\t1\nnot-a-query\t31715818\t1\n");
    const unknownQuery = await fail(["--split", "dev"]);
    expect(unknownQuery).toBeInstanceOf(WinnowError);
    expect(unknownQuery.message).toMatch(/dev\.tsv:3: query id "not-a-query" is not in .*queries\.jsonl/);

    await writeFile(join(broken, "queries.jsonl"), '{"_id":"1","text":"ok"}\n{"_id":"3","text":\n');
    expect((await fail([])).message).toMatch(/queries\.jsonl:2: malformed JSON/);

    await writeFile(join(broken, "queries.jsonl"), '{"_id":"1","text":"ok"}\n');
    await writeFile(join(broken, "qrels", "one.tsv"), "1\t31715818\t1\n");
    await writeFile(join(broken, "corpus.jsonl"), "");
    expect((await fail(["--split", "one"])).message).toMatch(/corpus\.jsonl: corpus is empty/);

    const absent = await runCommand(registerEval, ["eval", "--dataset", join(dir, "absent")]).then(
      () => new Error("expected a failure"),
      (e: unknown) => e as Error,
    );
    expect(absent.message).toMatch(
      /dataset folder not found: .*absent/,
    );
    const flag = await runCommand(registerEval, ["eval", "--dataset", mini, "--reranker", "test-reverse", "--candidates", "500", "--depth", "100"]).catch((e: unknown) => e);
    expect(flag).toBeInstanceOf(UsageError);
    expect((flag as Error).message).toMatch(/--candidates \(500\) must not exceed --depth \(100\)/);
  });
});
