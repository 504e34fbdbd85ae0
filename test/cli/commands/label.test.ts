import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradeRanking, register } from "../../../src/cli/commands/label.js";
import { readQrels } from "../../../src/eval/readers/qrels.js";
import { startFakeChat, type FakeChatServer } from "../../support/fake-vendors/fake-chat-server.js";
import { runCommand } from "../../support/run-command.js";
import { repoPaths } from "../../support/shared-datasets.js";

const MINI = join(repoPaths.root, "examples/scifact-mini");

describe("gradeRanking", () => {
  const ranked = [5, 4, 3, 2, 1, 0.5, Number.NaN].map((score, i) => ({ index: i, id: `d${i}`, score }));
  it("maps rank positions to grades with the cuts, and gives unscored candidates no row", () => {
    const g = gradeRanking(ranked, "rank", [1, 3, 5]);
    expect(g.map((x) => x.grade)).toEqual([3, 2, 2, 1, 1, 0]);
    expect(g.map((x) => x.id)).not.toContain("d6");
    const flagged = [{ index: 0, id: "a", score: 1 }, { index: 1, id: "b", score: -1, details: { unscored: true } }];
    expect(gradeRanking(flagged, "rank", [1, 3, 5]).map((x) => x.id)).toEqual(["a"]);
  });
  it("maps 0–10 scores to grades and skips unscored candidates", () => {
    const g = gradeRanking(ranked, "score", [5, 3, 1]);
    // Scores 5, 4, 3, 2, 1, 0.5 against cuts 5/3/1.
    expect(g.map((x) => x.grade)).toEqual([3, 2, 2, 1, 1, 0]);
    expect(g.map((x) => x.id)).not.toContain("d6");
  });
});

describe("winnow label", () => {
  let server: FakeChatServer;
  let dir: string;
  beforeAll(async () => {
    server = await startFakeChat();
    dir = await mkdtemp(join(tmpdir(), "winnow-label-"));
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes graded BEIR qrels from an LLM reranking of BM25 candidates, atomically", async () => {
    const out = join(dir, "labels.tsv");
    const stdout = await runCommand(register, [
      "label", "--dataset", MINI, "--split", "test", "--max-queries", "4", "--candidates", "12",
      "--reranker", "llm", "--base-url", `${server.url}/v1`, "--model", "fake", "-O", "window=6", "-O", "step=3",
      "--out", out, "--format", "json",
    ]);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ queries: 4, labelled: 4, rows: 48, skippedDegraded: 0 });
    // Default rank cuts 1,3,10 over 12 candidates: 1×3, 2×2, 7×1, 2×0 per query.
    expect(summary.grades).toEqual({ 3: 4, 2: 8, 1: 28, 0: 8 });
    expect(server.kinds.length).toBeGreaterThan(0);
    const text = await readFile(out, "utf8");
    expect(text.split("\n")[0]).toBe("query-id\tcorpus-id\tscore");
    const qrels = await readQrels(out);
    expect(qrels.size).toBe(4);
    for (const docs of qrels.values()) expect([...docs.values()].sort()).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3]);
    expect((await readdir(dir)).filter((f) => f.includes(".tmp-"))).toEqual([]);
  });

  it("grades by pointwise scores with --grading score", async () => {
    const out = join(dir, "scored.tsv");
    const summary = JSON.parse(
      await runCommand(register, [
        "label", "--dataset", MINI, "--split", "test", "--max-queries", "2", "--candidates", "5",
        "--reranker", "llm", "--base-url", `${server.url}/v1`, "--model", "fake", "-O", "mode=pointwise", "-O", "scoring=json",
        "--grading", "score", "--out", out, "--format", "json",
      ]),
    );
    expect(summary.rows).toBe(10);
    expect(summary.usage.calls).toBeGreaterThan(0);
  });

  it("leaves no file when the reranker fails", async () => {
    const out = join(dir, "failed.tsv");
    server.script = Array.from({ length: 10 }, () => ({ kind: "status" as const, status: 500 }));
    await expect(
      runCommand(register, [
        "label", "--dataset", MINI, "--split", "test", "--max-queries", "1", "--candidates", "5", "--parallel", "1",
        "--reranker", "llm", "--base-url", `${server.url}/v1`, "--model", "fake", "-O", "maxRetries=0", "--out", out,
      ]),
    ).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });
    expect((await readdir(dir)).filter((f) => f.startsWith("failed"))).toEqual([]);
    server.script = [];
  });

  it("never labels degraded answers, and fails when nothing was labelled", async () => {
    server.script = Array.from({ length: 10 }, () => ({ kind: "status" as const, status: 500 }));
    await expect(
      runCommand(register, [
        "label", "--dataset", MINI, "--split", "test", "--max-queries", "1", "--candidates", "5",
        "--reranker", "llm", "--base-url", `${server.url}/v1`, "--model", "fake", "-O", "maxRetries=0", "-O", "onError=\"fallback\"",
        "--out", join(dir, "degraded.tsv"), "--format", "json",
      ]),
    ).rejects.toMatchObject({ code: "UPSTREAM_ERROR", message: expect.stringMatching(/^nothing labelled: none of the 1 queries got a label \(1 queries degraded to first-stage order\)/) });
    expect((await readdir(dir)).filter((f) => f.startsWith("degraded"))).toEqual([]);
    server.script = [];
  });

  it("--grading score reports the candidates left unscored, and fails when none was scored", async () => {
    // Scores only the first passage of each batch; the rest stay unscored after the retry.
    const partial = await startFakeChat({ pointwise: (scores) => JSON.stringify({ "1": scores[0] }) });
    const unreadable = await startFakeChat({ pointwise: () => "I cannot score these passages." });
    const args = (url: string, out: string) => [
      "label", "--dataset", MINI, "--split", "test", "--max-queries", "2", "--candidates", "5",
      "--reranker", "llm", "--base-url", `${url}/v1`, "--model", "fake", "-O", "mode=pointwise", "-O", "scoring=json",
      "--grading", "score", "--out", join(dir, out), "--format", "json",
    ];
    try {
      const summary = JSON.parse(await runCommand(register, args(partial.url, "partial.tsv")));
      expect(summary).toMatchObject({ queries: 2, labelled: 2, rows: 2, unscored: 8 });
      expect((await readQrels(join(dir, "partial.tsv"))).size).toBe(2);
      const table = await runCommand(register, args(partial.url, "partial-table.tsv").filter((a) => a !== "--format" && a !== "json"));
      expect(table).toContain("skipped 8 unscored candidates");

      await expect(runCommand(register, args(unreadable.url, "none.tsv"))).rejects.toMatchObject({
        code: "UPSTREAM_ERROR",
        message: expect.stringMatching(/^nothing labelled: none of the 2 queries got a label \(10 candidates unscored: answers the reranker could not read\); .*none\.tsv not written$/),
      });
      expect((await readdir(dir)).filter((f) => f.startsWith("none"))).toEqual([]);
    } finally {
      await partial.close();
      await unreadable.close();
    }
  });

  it("rejects bad flags by name", async () => {
    const base = ["label", "--dataset", MINI, "--split", "test", "--out", join(dir, "x.tsv")];
    await expect(runCommand(register, [...base])).rejects.toThrow(/--reranker/);
    await expect(runCommand(register, [...base, "--reranker", "llm", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--rank-cuts", "3,1"])).rejects.toThrow(/--rank-cuts/);
    await expect(runCommand(register, [...base, "--reranker", "llm", "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--grading", "vibes"])).rejects.toThrow(/--grading/);
  });
});
