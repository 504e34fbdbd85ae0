import { join, resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { register, worseThanFirstStage } from "../../../src/cli/commands/eval.js";
import type { Candidate, QueryInput, RankedResult } from "../../../src/core/types.js";
import { registerReranker } from "../../../src/rerankers/registry.js";
import { runCommand } from "../../support/run-command.js";

const mini = join(resolve(import.meta.dirname, "../../.."), "examples/scifact-mini");

/** Reverses the first stage's order: worse on any collection where the first stage is any good. */
registerReranker("test-eval-reversed", async () => ({
  name: "test-eval-reversed",
  async rerank(_q: QueryInput, candidates: readonly unknown[]): Promise<RankedResult[]> {
    return candidates.map((c, index) => ({ index, id: (c as Candidate).document.id, score: index })).reverse();
  },
}));
/** Keeps the first stage's order: never worse. */
registerReranker("test-eval-identity", async () => ({
  name: "test-eval-identity",
  async rerank(_q: QueryInput, candidates: readonly unknown[]): Promise<RankedResult[]> {
    return candidates.map((c, index) => ({ index, id: (c as Candidate).document.id, score: -index }));
  },
}));

afterEach(() => vi.restoreAllMocks());

async function evalWith(reranker: string, format: string): Promise<{ stdout: string; stderr: string[] }> {
  const stderr: string[] = [];
  vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => void stderr.push(parts.map(String).join(" ")));
  const stdout = await runCommand(register, ["eval", "--dataset", mini, "--depth", "100", "--candidates", "20", "--reranker", reranker, "--format", format]);
  return { stdout, stderr };
}

describe("winnow eval warns when reranking is worse than the first stage", () => {
  it("prints one line on stderr with the measure and the p-value, and puts it in the JSON", async () => {
    const { stdout, stderr } = await evalWith("test-eval-reversed", "json");
    const json = JSON.parse(stdout);
    expect(json.lift.metrics.ndcg_cut_10.delta).toBeLessThan(0);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^warning: bm25 → test-eval-reversed@20 is worse than the first stage alone on ndcg_cut_10: 0\.\d{4} → 0\.\d{4} \(−0\.\d{4}, \d+ queries lost, \d+ won; paired randomization p=0\.\d{4}\)/);
    expect(stderr[0]).toContain(`p=${json.lift.metrics.ndcg_cut_10.pValue.toFixed(4)}`);
    expect(json.warning).toBe(stderr[0]);
    const table = await evalWith("test-eval-reversed", "table");
    expect(table.stderr).toEqual(stderr);
  });

  it("says nothing when reranking is not worse", async () => {
    const { stdout, stderr } = await evalWith("test-eval-identity", "json");
    expect(JSON.parse(stdout).warning).toBeUndefined();
    expect(stderr).toEqual([]);
  });

  it("falls back to the first measure asked for when nDCG@10 is not measured", () => {
    const lift = { metrics: { map: { before: 0.5, after: 0.4, delta: -0.1, wins: 1, ties: 0, losses: 3, pValue: 0.25 } }, topK: { k: 10, queries: 4, setChanged: 1, orderChanged: 1 }, numQueries: 4 };
    expect(worseThanFirstStage(lift, ["map"], "x")).toMatch(/on map: 0\.5000 → 0\.4000 \(−0\.1000, 3 queries lost, 1 won; paired randomization p=0\.2500\)/);
  });
});
