import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { register } from "../../../src/cli/commands/demo.js";
import { runCommand } from "../../support/run-command.js";

describe("winnow demo", () => {
  beforeEach(() => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  it("indexes the bundled sample, answers the first query BM25 finds something relevant for, and prints the lift table", async () => {
    const text = await runCommand(register, ["demo"]);
    expect(text).toMatch(/683 documents from .*examples[/\\]scifact-mini/);
    // Query 1's relevant document is not among its BM25 candidates, so the demo shows query 3, with a relevant hit marked.
    expect(text).toMatch(/Query 3: "1,000 genomes project enables mapping/);
    expect(text).toMatch(/^\s+\d+\s+\d+\s+-?\d+\.\d{3}\s+\S+\s+✓/m);
    // Ten result rows: new rank, BM25 rank, score, id.
    expect(text.match(/^\s+\d+\s+\d+\s+-?\d+\.\d{3}\s+\S+/gm)?.length).toBe(10);
    expect(text).toMatch(/^bm25\s+0\.\d{4}/m);
    expect(text).toMatch(/^bm25 \+ learned\s+0\.\d{4}/m);
    expect(text).toMatch(/wins\/ties\/losses over 300 queries/);
    expect(text).toMatch(/--reranker cross-encoder --model cross-encoder\/ms-marco-MiniLM-L-6-v2/);
  });

  it("answers --query and reports JSON whose figures agree with each other", async () => {
    const report = JSON.parse(await runCommand(register, ["demo", "--query", "vitamin D deficiency", "--candidates", "20", "--format", "json"]));
    expect(report.example.query.text).toBe("vitamin D deficiency");
    expect(report.example.results.length).toBeGreaterThan(0);
    const lift = report.lift.metrics.ndcg_cut_10;
    expect(lift.delta).toBeCloseTo(lift.after - lift.before, 10);
    expect(report.metrics.bm25.ndcg_cut_10).toBeCloseTo(lift.before, 10);
    expect(lift.wins + lift.ties + lift.losses).toBe(300);
  });

  it("rejects bad flags", async () => {
    await expect(runCommand(register, ["demo", "--candidates", "0"])).rejects.toThrowError(/--candidates must be an integer from 1 to 1000/);
    await expect(runCommand(register, ["demo", "--format", "xml"])).rejects.toThrowError(/--format must be table or json/);
  });
});
