import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerCompare } from "../../../src/cli/commands/compare.js";
import { register as registerEval } from "../../../src/cli/commands/eval.js";
import { runCommand } from "../../support/run-command.js";
import { repoPaths } from "../../support/shared-datasets.js";

const mini = join(repoPaths.root, "examples/scifact-mini");
const qrels = join(mini, "qrels/test.tsv");
const MEASURES = ["ndcg_cut_10", "map", "recip_rank", "P_10"];

interface LiftJson {
  lift: { metrics: Record<string, { before: number; after: number; wins: number; ties: number; losses: number; pValue: number }> };
}

describe("winnow eval and winnow compare on the same two runs", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-eval-compare-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // docs/evaluation.md: "10,000 seeded sign flips, so the same runs always print the same p".
  it.each([
    { name: "defaults", extra: [] as string[] },
    { name: "--seed 7 --permutations 2000", extra: ["--seed", "7", "--permutations", "2000"] },
  ])("print the same p, wins, ties and losses ($name)", async ({ extra }) => {
    const bm25 = join(dir, "bm25.run");
    const learned = join(dir, "learned.run");
    const evalArgs = ["eval", "--dataset", mini, "--depth", "100", "--reranker", "learned", "--metrics", MEASURES.join(","), "--run-out", learned, "--first-stage-run-out", bm25, "--format", "json"];
    const evaluated = JSON.parse(await runCommand(registerEval, [...evalArgs, ...extra])) as LiftJson;
    for (const metric of MEASURES) {
      const lift = evaluated.lift.metrics[metric];
      const compared = JSON.parse(await runCommand(registerCompare, ["compare", "--qrels", qrels, bm25, learned, "--metric", metric, "--format", "json", ...extra]));
      expect(compared.randomization.pValue, metric).toBe(lift.pValue);
      expect([compared.wins, compared.ties, compared.losses], metric).toEqual([lift.wins, lift.ties, lift.losses]);
      expect(compared.a, metric).toBeCloseTo(lift.before, 12);
      expect(compared.b, metric).toBeCloseTo(lift.after, 12);
    }
    // The reranker changes nDCG@10 on this split, so the agreement is over a real p, not two 1s.
    expect(evaluated.lift.metrics.ndcg_cut_10.pValue).toBeLessThan(0.5);
  });
});
