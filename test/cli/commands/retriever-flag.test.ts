import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { register as registerCalibrate } from "../../../src/cli/commands/calibrate.js";
import { register as registerDemo } from "../../../src/cli/commands/demo.js";
import { register as registerEval } from "../../../src/cli/commands/eval.js";
import { register as registerLabel } from "../../../src/cli/commands/label.js";
import { register as registerSearch } from "../../../src/cli/commands/search.js";
import { register as registerSweep } from "../../../src/cli/commands/sweep.js";
import { main } from "../../../src/cli/main.js";
import { toQuery } from "../../../src/core/inputs.js";
import type { Candidate, Document, QueryInput, RankedResult } from "../../../src/core/types.js";
import { readCorpus } from "../../../src/eval/readers/beir.js";
import { loadPipeline } from "../../../src/pipeline/pipeline-config.js";
import { registerReranker } from "../../../src/rerankers/registry.js";
import { registerRetriever, type RetrieverContext } from "../../../src/retrieval/registry.js";
import { runCommand } from "../../support/run-command.js";
import { repoPaths } from "../../support/shared-datasets.js";

const mini = join(repoPaths.root, "examples/scifact-mini");

/**
 * A first stage no built-in row knows: documents ranked by how many query words they
 * contain (ties by corpus order). Registered with its own schema; it reads its corpus
 * from its spec's `dataset` (relative to the context's baseDir) or the context's.
 */
const contexts: RetrieverContext[] = [];
registerRetriever(
  "test-overlap",
  async (spec, context) => {
    contexts.push(context);
    const dir = spec.dataset !== undefined ? resolve(context.baseDir ?? ".", spec.dataset as string) : context.dataset!;
    const docs: Document[] = [];
    for await (const d of readCorpus(dir)) docs.push(d);
    const words = (t: string) => new Set(t.toLowerCase().split(/\W+/).filter((w) => w.length > 2));
    const bags = docs.map((d) => words(`${d.title ?? ""} ${d.text}`));
    return {
      name: "test-overlap",
      describe: () => ({ type: "test-overlap", documents: docs.length }),
      async search(query: QueryInput, k: number): Promise<Candidate[]> {
        const q = [...words(toQuery(query).text)];
        return docs
          .map((document, i) => ({ document, score: q.filter((w) => bags[i].has(w)).length, i }))
          .filter((x) => x.score > 0)
          .sort((a, b) => b.score - a.score || a.i - b.i)
          .slice(0, k)
          .map((x, r) => ({ document: x.document, score: x.score, rank: r + 1, source: "test-overlap" }));
      },
    };
  },
  "query-word overlap (test)",
  z.strictObject({ type: z.literal("test-overlap"), dataset: z.string().min(1).optional() }),
);

/** A reranker no built-in row knows: the first stage's order reversed. */
registerReranker("test-reversed", async () => ({
  name: "test-reversed",
  async rerank(_q: QueryInput, candidates: readonly unknown[]): Promise<RankedResult[]> {
    return candidates.map((c, index) => ({ index, id: (c as Candidate).document.id, score: index })).reverse();
  },
}));

/** main() as `winnow …`: exit code and what went to stderr. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => {
    stderr += parts.map(String).join(" ") + "\n";
  });
  const code = await main(["node", "winnow", ...args]);
  vi.restoreAllMocks();
  return { code, stderr };
}

describe("--retriever in every command that retrieves", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-retriever-flag-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => vi.restoreAllMocks());

  it("eval runs a registered retriever and a registered reranker with no other change", async () => {
    const out = JSON.parse(await runCommand(registerEval, ["eval", "--dataset", mini, "--retriever", "test-overlap", "--reranker", "test-reversed", "--depth", "50", "--candidates", "10", "--format", "json"]));
    expect(out.retriever).toEqual({ type: "test-overlap", documents: 683 });
    expect(contexts.at(-1)?.dataset).toBe(mini);
    expect(out.numQueries).toBe(300);
    expect(out.firstStage.ndcg_cut_10).toBeGreaterThan(0);
    // Reversing the top 10 puts the overlap ranking's best last: nDCG@10 drops, R@10-level measures stay.
    expect(out.metrics.ndcg_cut_10).toBeLessThan(out.firstStage.ndcg_cut_10);
    expect(out.metrics.recall_100).toBeCloseTo(out.firstStage.recall_100, 12);
    const table = await runCommand(registerEval, ["eval", "--dataset", mini, "--retriever", '{"type":"test-overlap"}', "--depth", "50"]);
    expect(table).toMatch(/^test-overlap\s/m);
  });

  it("a pipeline config takes the same registered retriever and reranker, paths relative to the file", async () => {
    const file = join(dir, "custom.yaml");
    writeFileSync(
      file,
      ["retrievers:", "  - type: test-overlap", `    dataset: ${relative(dir, mini)}`, "    k: 20", "stages:", "  - reranker: { type: test-reversed }", "    topK: 10", "topN: 10", ""].join("\n"),
    );
    const pipeline = await loadPipeline(file, { warmup: false });
    const result = await pipeline.search("stem cells in glioma");
    expect(contexts.at(-1)?.baseDir).toBe(dir);
    const direct = await (await import("../../../src/retrieval/registry.js")).createRetriever({ type: "test-overlap" }, { dataset: mini });
    const first = (await direct.search("stem cells in glioma", 20)).map((c) => c.document.id);
    expect(result.results.map((r) => r.id)).toEqual(first.slice(0, 10).reverse());
    expect(result.results.every((r) => r.reranked && r.source === "test-overlap")).toBe(true);
    await pipeline.close();
  });

  it("search: --retriever with no saved index (inline documents, or a dataset indexed on the fly)", async () => {
    const docs = [
      { id: "tides", text: "the moon's gravity causes tides" },
      { id: "pools", text: "tide pools host crabs" },
    ];
    const hits = JSON.parse(await runCommand(registerSearch, ["search", "what causes tides", "--retriever", JSON.stringify({ type: "memory", documents: docs }), "--format", "json"]));
    expect(hits[0].id).toBe("tides");
    const onTheFly = JSON.parse(await runCommand(registerSearch, ["search", "stem cells in glioma", "--dataset", mini, "--retriever", "bm25", "-k", "3", "--format", "json"]));
    expect(onTheFly).toHaveLength(3);
    const custom = JSON.parse(await runCommand(registerSearch, ["search", "stem cells in glioma", "--dataset", mini, "--retriever", "test-overlap", "-k", "3", "--format", "json"]));
    expect(custom.map((h: { id: string }) => h.id)).not.toEqual(onTheFly.map((h: { id: string }) => h.id));
  });

  it("sweep, label, calibrate and demo take it too", async () => {
    const sweep = JSON.parse(await runCommand(registerSweep, ["sweep", "--dataset", mini, "--retriever", "test-overlap", "--reranker", "test-reversed", "--candidates", "5,10", "--queries", "20", "--format", "json"]));
    expect(sweep.retriever).toEqual({ type: "test-overlap", documents: 683 });
    expect(sweep.rows.map((r: { candidates: number }) => r.candidates)).toEqual([5, 10]);

    const labels = join(dir, "labels.tsv");
    const label = JSON.parse(await runCommand(registerLabel, ["label", "--dataset", mini, "--split", "test", "--retriever", "test-overlap", "--reranker", "test-reversed", "--max-queries", "4", "--candidates", "5", "--out", labels, "--format", "json"]));
    expect(label.rows).toBe(20);
    expect(existsSync(labels)).toBe(true);

    const calibration = join(dir, "calibration.json");
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    await runCommand(registerCalibrate, ["calibrate", "--dataset", mini, "--split", "test", "--retriever", "test-overlap", "--reranker", "test-reversed", "--queries", "5", "--candidates", "5", "--out", calibration]);
    vi.restoreAllMocks();
    expect(JSON.parse(readFileSync(calibration, "utf8")).fittedOn.candidates).toBe("test-overlap top-5 + judged");

    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const demo = JSON.parse(await runCommand(registerDemo, ["demo", "--retriever", "test-overlap", "--candidates", "20", "--format", "json"]));
    expect(demo.retriever).toEqual({ type: "test-overlap", documents: 683 });
    expect(demo.metrics["test-overlap"].ndcg_cut_10).toBeCloseTo(demo.lift.metrics.ndcg_cut_10.before, 12);
  });

  it("an unknown type, bad JSON or a bad field exits 2 with one line naming it", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["eval", "--dataset", mini, "--retriever", "nope"], /unknown retriever type "nope" \(known: bm25, bm25-rm3, colbert, dense, elasticsearch, hybrid, memory, opensearch, postgres, test-overlap\)/],
      [["search", "q", "--dataset", mini, "--retriever", "{type: bm25"], /--retriever: not valid JSON/],
      [["sweep", "--dataset", mini, "--retriever", '{"type":"bm25","k1":"high"}'], /--retriever: bm25 retriever: k1: /],
      [["label", "--dataset", mini, "--out", join(dir, "x.tsv"), "--reranker", "test-reversed", "--retriever", '{"type":"hybrid","retrievers":[{"type":"bm25"}]}'], /hybrid retriever: retrievers: list at least two/],
      [["search", "q", "--dataset", mini, "--retriever", "dense", "--k1", "2"], /dense retriever: k1: unknown option "k1"/],
      [["demo", "--retriever", '{"type":"test-overlap","corpus":"x"}'], /test-overlap retriever: corpus: unknown option/],
      [["calibrate", "--dataset", mini, "--out", join(dir, "c.json"), "--reranker", "test-reversed", "--retriever", "[1]"], /--retriever must be a retriever name/],
      [["search", "q", "--retriever", "bm25"], /bm25 retriever: index: no index to search/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).toMatch(message);
    }
  });
});
