import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { register } from "../../../src/cli/commands/compare.js";
import { runCommand } from "../../support/run-command.js";

const run = (args: string[]): Promise<string> => runCommand(register, ["compare", ...args]);

describe("winnow compare", () => {
  const dir = mkdtempSync(join(tmpdir(), "winnow-compare-"));
  const qrels = join(dir, "qrels.tsv");
  const runA = join(dir, "a.run");
  const runB = join(dir, "b.run");
  const q = Array.from({ length: 12 }, (_, i) => `q${i}`);
  writeFileSync(qrels, ["query-id\tcorpus-id\tscore", ...q.map((id) => `${id}\t${id}-rel\t1`)].join("\n") + "\n");
  // A: relevant document 2nd everywhere; B: 1st on 10 queries, 3rd on 2
  const line = (qid: string, doc: string, rank: number) => `${qid} Q0 ${doc} ${rank} ${10 - rank} tag`;
  writeFileSync(runA, q.flatMap((id) => [line(id, `${id}-x`, 1), line(id, `${id}-rel`, 2), line(id, `${id}-y`, 3)]).join("\n") + "\n");
  writeFileSync(
    runB,
    q.flatMap((id, i) => (i < 10 ? [line(id, `${id}-rel`, 1), line(id, `${id}-x`, 2)] : [line(id, `${id}-x`, 1), line(id, `${id}-y`, 2), line(id, `${id}-rel`, 3)])).join("\n") + "\n",
  );

  it("prints means, wins/ties/losses, both tests and a verdict", async () => {
    const text = await run(["--qrels", qrels, runA, runB, "--metric", "recip_rank"]);
    expect(text).toContain("recip_rank over 12 judged queries");
    expect(text).toContain("A " + runA + ": 0.5000");
    expect(text).toContain("wins/ties/losses (B vs A): 10/0/2");
    expect(text).toMatch(/paired randomization test: p=0\.0\d{3} \(10000 permutations, seed 24301\)/);
    expect(text).toMatch(/paired t-test: t=\d+\.\d{3}, df=11/);
    expect(text).toMatch(/^B is better: recip_rank \+0\.3889/m);
  });

  it("JSON output carries per-query deltas on request, and bad flags are usage errors", async () => {
    const json = JSON.parse(await run(["--qrels", qrels, runA, runB, "--metric", "recip_rank", "--format", "json", "--per-query"]));
    expect(json.perQuery).toHaveLength(12);
    expect(json.delta).toBeCloseTo((10 * 1 + 2 / 3) / 12 - 0.5, 12);
    await expect(run(["--qrels", qrels, runA, runB, "--alpha", "2"])).rejects.toThrow(/--alpha must be in \(0, 1\)/);
    await expect(run(["--qrels", qrels, runA, runB, "--permutations", "0"])).rejects.toThrow(/--permutations must be an integer from 1 to 10000000/);
  });
});
