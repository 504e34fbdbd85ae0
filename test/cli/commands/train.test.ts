import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { register } from "../../../src/cli/commands/train.js";
import { loadLearnedModel } from "../../../src/rerankers/learned/model-file.js";
import { runCommand } from "./eval-cli.js";
import { repoPaths } from "./repo-root.js";

const ADI = join(repoPaths.sharedDatasets, "adi");

describe("winnow train", () => {
  beforeEach(() => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  it("trains, writes a loadable model and prints validation and importance", async () => {
    const dir = await mkdtemp(join(tmpdir(), "winnow-train-"));
    const out = join(dir, "adi.json");
    const text = await runCommand(register, ["train", "--dataset", ADI, "--split", "test", "--out", out, "--trees", "10", "--min-samples-per-leaf", "20", "--candidates", "50"]);
    expect(text).toMatch(/validation \(7 held-out queries/);
    expect(text).toMatch(/bm25 \+ learned/);
    expect(text).toMatch(/feature importance \(split gain\)/);
    expect(await readdir(dir)).toEqual(["adi.json"]);
    const model = await loadLearnedModel(out);
    expect(model.trees.length).toBeGreaterThan(0);
    expect(model.trees.length).toBeLessThanOrEqual(10);
    expect(model.training).toMatchObject({ split: "test", trainQueries: 28, validationQueries: 7 });
  });

  it("cross-validates and reports every fold against BM25 as JSON", async () => {
    const text = await runCommand(register, ["train", "--dataset", ADI, "--split", "test", "--cv", "5", "--trees", "10", "--min-samples-per-leaf", "20", "--candidates", "50", "--format", "json"]);
    const report = JSON.parse(text);
    expect(report.cv.folds).toHaveLength(5);
    expect(report.cv.folds.reduce((n: number, f: { testQueries: number }) => n + f.testQueries, 0)).toBe(35);
    expect(report.cv.firstStage).toBeGreaterThan(0.3);
    expect(report.model).toBeUndefined();
  });

  it("rejects bad flags naming the flag and its limit", async () => {
    await expect(runCommand(register, ["train", "--dataset", ADI, "--split", "test"])).rejects.toThrowError(/--out <file> is required/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--cv", "1"])).rejects.toThrowError(/--cv must be an integer from 2 to 100/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--out", "x.json", "--leaves", "1"])).rejects.toThrowError(/--leaves must be an integer from 2 to 1024/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--out", "x.json", "--features", "bm25,nope"])).rejects.toThrowError(/unknown feature "nope"/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--split", "nosuch", "--out", "x.json"])).rejects.toThrowError(/nosuch/);
  });
});
