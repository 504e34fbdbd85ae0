import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readCorpus } from "../../src/eval/readers/beir.js";
import { loadPipeline, parsePipelineConfig } from "../../src/pipeline/pipeline-config.js";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";
import { ScriptedReranker } from "../support/fake-retrieval.js";

const repo = resolve(import.meta.dirname, "../..");
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "winnow-pipeline-"));
  const index = await Bm25Index.build(readCorpus(join(repo, "examples/scifact-mini")));
  await index.save(join(dir, "index"));
});

// A reranker that prefers shorter documents: easy to check, unlike anything BM25 does.
const byShortness = async () => new ScriptedReranker("short", (d) => -d.text.length);

describe("pipeline config", () => {
  it("names the path of every problem in the file", () => {
    const bad = {
      retrievers: [{ type: "bm25", index: "i", k: 0 }],
      stages: [{ reranker: { type: "learned" }, topK: "many" }],
      fusion: { method: "borda" },
      extra: 1,
    };
    let message = "";
    try {
      parsePipelineConfig(bad, "p.yaml");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^p\.yaml: invalid pipeline config: /);
    expect(message).toContain("retrievers[0].k");
    expect(message).toContain("stages[0].topK");
    expect(message).toContain("fusion.method");
    expect(message).toMatch(/extra/);
    expect(() => parsePipelineConfig({ retrievers: [{ type: "bm25", index: "i", filter: { year: { above: 1 } } }] })).toThrow(/retrievers\[0\]\.filter/);
  });

  it("loads a YAML pipeline with paths relative to the file and searches the index", async () => {
    const file = join(dir, "pipeline.yaml");
    writeFileSync(
      file,
      ["retrievers:", "  - type: bm25", "    index: ./index", "    k: 30", "stages:", "  - reranker: { type: short }", "    topK: 10", "topN: 5", "budgetMs: 5000", "cache: { type: memory }", ""].join("\n"),
    );
    const p = await loadPipeline(file, { createReranker: byShortness });
    const r = await p.search("cholesterol and heart disease");
    expect(r.candidates).toBe(30);
    expect(r.reranked).toBe(10);
    expect(r.results).toHaveLength(5);
    const lengths = r.results.map((h) => h.document!.text.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    expect(r.results.every((h) => h.firstStageRank <= 10 && h.scores.bm25 > 0)).toBe(true);
    // the memory cache answers the repeat
    await p.search("cholesterol and heart disease");
    expect(p.cache?.stats().hits).toBe(10);
    await p.close();
  });

  it("reports a missing file and bad YAML clearly", async () => {
    await expect(loadPipeline(join(dir, "nope.yaml"))).rejects.toThrow(/nope\.yaml: no such file/);
    const broken = join(dir, "broken.yaml");
    writeFileSync(broken, "retrievers: [\n");
    await expect(loadPipeline(broken)).rejects.toThrow(/broken\.yaml: not valid YAML/);
  });
});
