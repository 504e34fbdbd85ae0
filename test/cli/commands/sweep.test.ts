import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { register } from "../../../src/cli/commands/sweep.js";
import type { Candidate, QueryInput, RankedResult } from "../../../src/core/types.js";
import { registerReranker } from "../../../src/rerankers/registry.js";
import { runCommand } from "../../support/run-command.js";

const repo = resolve(import.meta.dirname, "../../..");
const mini = join(repo, "examples/scifact-mini");
const tmp = mkdtempSync(join(tmpdir(), "winnow-sweep-out-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The first stage's order kept: a reranker that loads instantly, so these tests are about --out alone. */
registerReranker("test-sweep-out", async () => ({
  name: "kept",
  async rerank(_q: QueryInput, candidates: readonly unknown[]): Promise<RankedResult[]> {
    return candidates.map((c, index) => ({ index, id: (c as Candidate).document.id, score: -index }));
  },
}));

const sweep = (out: string) => runCommand(register, ["sweep", "--dataset", mini, "--reranker", "test-sweep-out", "--candidates", "10,20", "--queries", "5", "--format", "json", "--out", out]);

describe("winnow sweep --out", () => {
  it("writes sweep.html and sweep.json into an existing folder", async () => {
    const dir = join(tmp, "reports");
    mkdirSync(dir);
    const stdout = JSON.parse(await sweep(dir));
    expect(readFileSync(join(dir, "sweep.html"), "utf8")).toContain("<title>Candidate sweep: kept on scifact-mini</title>");
    const saved = JSON.parse(readFileSync(join(dir, "sweep.json"), "utf8"));
    expect(saved.rows.map((r: { candidates: number }) => r.candidates)).toEqual([10, 20]);
    expect(saved.numQueries).toBe(5);
    expect(saved.rows.map((r: { metrics: { ndcg_cut_10: number } }) => r.metrics.ndcg_cut_10)).toEqual(stdout.rows.map((r: { metrics: { ndcg_cut_10: number } }) => r.metrics.ndcg_cut_10));
  });

  it("creates a folder for a new path (OUT or OUT/), and still writes a path ending in .html as the HTML file", async () => {
    const dir = join(tmp, "new-folder");
    await sweep(`${dir}/`);
    expect(readFileSync(join(dir, "sweep.html"), "utf8")).toContain('id="sweep-data"');
    const plain = join(tmp, "nested", "OUT");
    await sweep(plain);
    expect(JSON.parse(readFileSync(join(plain, "sweep.json"), "utf8")).recommendation).toMatchObject({ reranker: null, candidates: 0 });
    expect(readFileSync(join(plain, "sweep.html"), "utf8")).toContain('id="sweep-data"');
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
