import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { register } from "../../../src/cli/commands/train.js";
import { loadLearnedModel } from "../../../src/rerankers/learned/model-file.js";
import { runCommand } from "../../support/run-command.js";
import { sharedDataset } from "../../support/shared-datasets.js";

const adi = sharedDataset("adi");
const ADI = adi.dir;

describe.skipIf(!adi.present)(`winnow train${adi.skipNote}`, () => {
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

  it("--format json reports validation over the held-out queries only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "winnow-train-"));
    const args = ["train", "--dataset", ADI, "--split", "test", "--out", join(dir, "adi.json"), "--trees", "10", "--min-samples-per-leaf", "20", "--candidates", "50", "--format", "json"];
    const report = JSON.parse(await runCommand(register, args));
    const v = report.validation;
    expect(v.queries).toBe(7);
    expect(v.wins + v.ties + v.losses).toBe(7);
    // BM25 nDCG@10 on ADI is about 0.47; averaged over all 35 queries (28 of them 0-vs-0
    // "ties") the 7 held-out ones would give about a fifth of it.
    expect(v.bm25.ndcg_cut_10).toBeGreaterThan(0.2);
    expect((await loadLearnedModel(join(dir, "adi.json"))).training).toMatchObject({ validationQueries: 7 });
  });

  it("learns from a separate qrels file (e.g. LLM labels from `winnow label`)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "winnow-train-"));
    const lines = (await readFile(join(ADI, "qrels", "test.tsv"), "utf8")).trim().split("\n");
    // Keep the judgments of the first 10 queries only.
    const keep = new Set(lines.slice(1).map((l) => l.split("\t")[0]).filter((q, i, all) => all.indexOf(q) === i).slice(0, 10));
    await writeFile(join(dir, "labels.tsv"), [lines[0], ...lines.slice(1).filter((l) => keep.has(l.split("\t")[0]))].join("\n") + "\n");
    const out = join(dir, "distilled.json");
    const report = JSON.parse(await runCommand(register, ["train", "--dataset", ADI, "--qrels", join(dir, "labels.tsv"), "--out", out, "--trees", "5", "--min-samples-per-leaf", "20", "--validate-fraction", "0.5", "--format", "json"]));
    expect(report.validation.queries).toBe(5);
    expect(report.validation.wins + report.validation.ties + report.validation.losses).toBe(5);
    const model = await loadLearnedModel(out);
    expect(model.training).toMatchObject({ trainQueries: 5, validationQueries: 5 });
    expect(String(model.training?.qrels)).toMatch(/labels\.tsv$/);
  });

  it("cross-validates and reports every fold against BM25 as JSON", async () => {
    const text = await runCommand(register, ["train", "--dataset", ADI, "--split", "test", "--cv", "5", "--trees", "10", "--min-samples-per-leaf", "20", "--candidates", "50", "--format", "json"]);
    const report = JSON.parse(text);
    expect(report.cv.folds).toHaveLength(5);
    expect(report.cv.folds.reduce((n: number, f: { testQueries: number }) => n + f.testQueries, 0)).toBe(35);
    expect(report.cv.firstStage).toBeGreaterThan(0.3);
    expect(report.model).toBeUndefined();
    // Nested by default: every fold says what its inner CV chose.
    for (const f of report.cv.folds) expect(["scratch", "warm"]).toContain(f.choice.start);
    const fixed = JSON.parse(await runCommand(register, ["train", "--dataset", ADI, "--split", "test", "--cv", "5", "--cv-select", "fixed", "--trees", "10", "--min-samples-per-leaf", "20", "--candidates", "50", "--format", "json"]));
    expect(fixed.cv.folds[0].choice).toBeUndefined();
  });

  it("rejects bad flags naming the flag and its limit", async () => {
    await expect(runCommand(register, ["train", "--dataset", ADI, "--split", "test"])).rejects.toThrowError(/--out <file> is required/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--cv", "1"])).rejects.toThrowError(/--cv must be an integer from 2 to 100/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--cv", "5", "--cv-select", "best"])).rejects.toThrowError(/--cv-select must be nested or fixed/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--cv", "5", "--inner-folds", "1"])).rejects.toThrowError(/--inner-folds must be an integer from 2 to 20/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--out", "x.json", "--leaves", "1"])).rejects.toThrowError(/--leaves must be an integer from 2 to 1024/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--out", "x.json", "--features", "bm25,nope"])).rejects.toThrowError(/unknown feature "nope"/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--split", "nosuch", "--out", "x.json"])).rejects.toThrowError(/nosuch/);
  });
});
