import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCandidateList, register } from "../../../src/cli/commands/sweep.js";
import { UsageError } from "../../../src/cli/usage-error.js";
import { runCommand } from "../../support/run-command.js";

const repo = resolve(import.meta.dirname, "../../..");

const run = (args: string[]): Promise<string> => runCommand(register, ["sweep", ...args]);

describe("winnow sweep", () => {
  it("sweeps the demo corpus with the shipped learned reranker, as JSON and as an HTML report", async () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-sweep-"));
    const html = join(dir, "report.html");
    const json = JSON.parse(
      await run(["--dataset", join(repo, "examples/scifact-mini"), "--reranker", "learned", "--candidates", "10,30", "--queries", "25", "--format", "json", "--out", html]),
    );
    expect(json.numQueries).toBe(25);
    expect(json.rows.map((r: { candidates: number }) => r.candidates)).toEqual([10, 30]);
    for (const r of json.rows) {
      expect(r.ndcg10).toBeGreaterThan(0);
      expect(r.ndcg10).toBeLessThanOrEqual(1);
      expect(r.recall).toBeGreaterThan(0);
    }
    expect(json.rows[1].recall).toBeGreaterThanOrEqual(json.rows[0].recall);
    expect([10, 30]).toContain(json.recommendation.candidates);
    expect(json.rerankerSpec).toMatchObject({ type: "learned" });
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<title>Candidate sweep: learned on scifact-mini</title>");
    expect(page).toContain('id="sweep-data"');
  });

  it("rejects bad flags with the flag and the limit", async () => {
    expect(() => parseCandidateList("10,abc")).toThrow(UsageError);
    expect(() => parseCandidateList("0")).toThrow(/integers in 1\.\.10000/);
    await expect(run(["--dataset", join(repo, "examples/scifact-mini"), "--budget-ms", "-5"])).rejects.toThrow(/--budget-ms must be a number > 0/);
  });
});
