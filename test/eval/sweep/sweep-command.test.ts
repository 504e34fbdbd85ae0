import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCandidateList, register } from "../../../src/cli/commands/sweep.js";
import { UsageError } from "../../../src/cli/usage-error.js";
import type { Candidate, QueryInput, RankedResult } from "../../../src/core/types.js";
import { registerReranker } from "../../../src/rerankers/registry.js";
import { runCommand } from "../../support/run-command.js";

const repo = resolve(import.meta.dirname, "../../..");
const mini = join(repo, "examples/scifact-mini");

const run = (args: string[]): Promise<string> => runCommand(register, ["sweep", ...args]);

/** A reranker that only makes things worse: the first stage's order reversed. */
registerReranker("test-sweep-reversed", async () => ({
  name: "test-sweep-reversed",
  async rerank(_q: QueryInput, candidates: readonly unknown[]): Promise<RankedResult[]> {
    return candidates.map((c, index) => ({ index, id: (c as Candidate).document.id, score: index })).reverse();
  },
}));

type Row = { reranker: string; candidates: number; metrics: Record<string, number>; p50Ms: number; p95Ms: number; pValue: number; pValueAdjusted: number };

describe("winnow sweep", () => {
  it("--out DIR writes sweep.json in the documented shape and sweep.html; the recommendation is never below the first stage", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "winnow-sweep-")), "OUT");
    const stdout = JSON.parse(await run(["--dataset", mini, "--reranker", "learned", "--candidates", "10,50,100", "--out", `${out}/`, "--format", "json"]));
    const saved = JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"));
    expect(saved).toEqual(stdout);
    expect(saved.metric).toBe("ndcg_cut_10");
    expect(Object.keys(saved.firstStage.metrics)).toEqual(expect.arrayContaining(["ndcg_cut_10", "recip_rank", "recall_10", "recall_50", "recall_100"]));
    expect(saved.rows.map((r: Row) => [r.reranker, r.candidates])).toEqual([["learned", 10], ["learned", 50], ["learned", 100]]);
    for (const r of saved.rows as Row[]) {
      expect(r.metrics.ndcg_cut_10).toBeGreaterThan(0);
      expect(r.metrics[`recall_${r.candidates}`]).toBe(saved.firstStage.metrics[`recall_${r.candidates}`]);
      expect(r.p95Ms).toBeGreaterThanOrEqual(r.p50Ms);
      expect(r.pValue).toBeGreaterThan(0);
      expect(r.pValue).toBeLessThanOrEqual(1);
      expect(r.pValueAdjusted).toBeGreaterThanOrEqual(r.pValue);
      expect(r.pValueAdjusted).toBeLessThanOrEqual(1);
    }
    const rec = saved.recommendation;
    expect(Object.keys(rec).sort()).toEqual(["candidates", "metrics", "reason", "reranker"]);
    expect(rec.metrics.ndcg_cut_10).toBeGreaterThanOrEqual(saved.firstStage.metrics.ndcg_cut_10);
    if (rec.reranker === null) expect(rec.candidates).toBe(0);
    else expect(saved.rows.some((r: Row) => r.reranker === rec.reranker && r.candidates === rec.candidates)).toBe(true);
    expect(rec.reason).toMatch(/ndcg_cut_10/);
    expect(rec.reason).toMatch(/budget/);
    expect(rec.reason).not.toContain("\n");
    expect(saved.rerankerSpecs).toEqual([{ type: "learned" }]);
    const page = readFileSync(join(out, "sweep.html"), "utf8");
    expect(page).toContain("<title>Candidate sweep: learned on scifact-mini</title>");
    expect(page).toContain('<section id="queries"');
  });

  it("recommends not reranking when the only reranker makes things worse", async () => {
    const json = JSON.parse(await run(["--dataset", mini, "--reranker", "test-sweep-reversed", "--candidates", "10,20", "--queries", "30", "--format", "json"]));
    expect(json.rows.every((r: Row) => r.metrics.ndcg_cut_10 < json.firstStage.metrics.ndcg_cut_10)).toBe(true);
    expect(json.recommendation).toMatchObject({ reranker: null, candidates: 0, metrics: json.firstStage.metrics });
    expect(json.recommendation.reason).toMatch(/^don't rerank: .* \(α=0\.05, Holm–Bonferroni over 2 rows; no latency budget\)/);
    const table = await run(["--dataset", mini, "--reranker", "test-sweep-reversed", "--candidates", "10", "--queries", "30", "--budget-ms", "1000"]);
    expect(table).toMatch(/^first stage +0 .*← recommended$/m);
    expect(table).toMatch(/^recommendation: don't rerank: .*budget p95 ≤ 1000 ms/m);
  });

  it("takes several --reranker values (names or JSON specs), one row per reranker and count, and recommends across them", async () => {
    const json = JSON.parse(
      await run(["--dataset", mini, "--reranker", "test-sweep-reversed", "--reranker", '{"type":"learned"}', "--candidates", "10,20", "--queries", "30", "--alpha", "0.5", "--format", "json"]),
    );
    expect(json.rerankers).toEqual(["test-sweep-reversed", "learned"]);
    expect(json.rows.map((r: Row) => `${r.reranker}@${r.candidates}`)).toEqual(["test-sweep-reversed@10", "test-sweep-reversed@20", "learned@10", "learned@20"]);
    expect(json.alpha).toBe(0.5);
    expect(json.recommendation.reranker).not.toBe("test-sweep-reversed");
  });

  it("binds --model only to the rerankers that need one, and refuses what it cannot bind", async () => {
    await expect(run(["--dataset", mini, "--reranker", "learned", "--reranker", "cross-encoder"])).rejects.toThrow(/--reranker cross-encoder: --model is required/);
    await expect(run(["--dataset", mini, "--reranker", "learned", "--reranker", "cohere", "-O", "topN=3"])).rejects.toThrow(/-O cannot be bound to one of several --reranker values: put it in that reranker's JSON spec/);
    await expect(run(["--dataset", mini, "--reranker", "{not json"])).rejects.toThrow(/--reranker \{not json: not valid JSON/);
    await expect(run(["--dataset", mini, "--reranker", '{"model":"m"}'])).rejects.toThrow(/a JSON spec must be an object with a string "type"/);
  });

  it("rejects bad flags with the flag and the limit", async () => {
    expect(() => parseCandidateList("10,abc")).toThrow(UsageError);
    expect(() => parseCandidateList("0")).toThrow(/integers in 1\.\.10000/);
    await expect(run(["--dataset", mini, "--budget-ms", "-5"])).rejects.toThrow(/--budget-ms must be a number > 0/);
    await expect(run(["--dataset", mini, "--alpha", "1"])).rejects.toThrow(/--alpha must be in \(0, 1\)/);
    await expect(run(["--dataset", mini, "--metric", "ndcg@10"])).rejects.toThrow(/--metric: unknown metric "ndcg@10"/);
  });
});
