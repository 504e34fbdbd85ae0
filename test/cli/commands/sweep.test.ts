import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { register } from "../../../src/cli/commands/sweep.js";
import { runCommand } from "../../support/run-command.js";

const repo = resolve(import.meta.dirname, "../../..");
const mini = join(repo, "examples/scifact-mini");
const tmp = mkdtempSync(join(tmpdir(), "winnow-sweep-out-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sweep = (out: string) => runCommand(register, ["sweep", "--dataset", mini, "--reranker", "learned", "--candidates", "10,20", "--queries", "5", "--format", "json", "--out", out]);

describe("winnow sweep --out", () => {
  it("writes sweep.html and sweep.json into an existing folder", async () => {
    const dir = join(tmp, "reports");
    mkdirSync(dir);
    const stdout = JSON.parse(await sweep(dir));
    expect(readFileSync(join(dir, "sweep.html"), "utf8")).toContain("<title>Candidate sweep: learned on scifact-mini</title>");
    const saved = JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8"));
    expect(saved.rows.map((r: { candidates: number }) => r.candidates)).toEqual([10, 20]);
    expect(saved.numQueries).toBe(5);
    expect(saved.rows.map((r: { metrics: { ndcg_cut_10: number } }) => r.metrics.ndcg_cut_10)).toEqual(stdout.rows.map((r: { metrics: { ndcg_cut_10: number } }) => r.metrics.ndcg_cut_10));
  });

  it("creates a folder named with a trailing slash, and still writes a plain path as the HTML file", async () => {
    const dir = join(tmp, "new-folder");
    await sweep(`${dir}/`);
    expect(readFileSync(join(dir, "sweep.html"), "utf8")).toContain('id="sweep-data"');
    const file = join(tmp, "report.html");
    await sweep(file);
    expect(readFileSync(file, "utf8")).toContain('id="sweep-data"');
  });

  it("an --out it cannot write is a usage error naming the path", async () => {
    const file = join(tmp, "a-file");
    writeFileSync(file, "x");
    await expect(sweep(join(file, "report.html"))).rejects.toMatchObject({ name: "UsageError", message: expect.stringContaining(join(file, "report.html")) });
    expect(readFileSync(file, "utf8")).toBe("x");
  });
});
