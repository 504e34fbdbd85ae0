import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { register } from "../../../src/cli/commands/train.js";
import { loadLearnedModel } from "../../../src/rerankers/learned/model-file.js";
import { runCommand } from "../../support/run-command.js";
import { repoRoot, sharedDataset } from "../../support/shared-datasets.js";
import { parseDatasetArg } from "../../../src/cli/commands/train.js";

const adi = sharedDataset("adi");
const ADI = adi.dir;
const MINI = join(repoRoot, "examples", "scifact-mini");

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

  it("trains on several collections at once, each with its split, and records them in the model", async () => {
    const dir = await mkdtemp(join(tmpdir(), "winnow-train-"));
    const out = join(dir, "two.json");
    const args = ["train", "--dataset", `${ADI}:test`, "--dataset", MINI, "--split", "test", "--out", out, "--trees", "5", "--min-samples-per-leaf", "20", "--candidates", "30", "--validate-fraction", "0", "--format", "json"];
    const report = JSON.parse(await runCommand(register, args));
    const miniQueries = (await readFile(join(MINI, "qrels", "test.tsv"), "utf8")).trim().split("\n").slice(1).map((l) => l.split("\t")[0]).filter((q, i, a) => a.indexOf(q) === i).length;
    expect(report.datasets.map((d: { split: string; queries: number }) => [d.split, d.queries])).toEqual([["test", 35], ["test", miniQueries]]);
    expect(report.queries).toBe(35 + miniQueries);
    const model = await loadLearnedModel(out);
    expect(model.training).toMatchObject({ trainQueries: 35 + miniQueries, collections: [{ split: "test", queries: 35 }, { split: "test", queries: miniQueries }] });
    expect(String((model.training?.collections as Array<{ dataset: string }>)[0].dataset)).toMatch(/adi$/);
  });

  it("--leave-one-out scores each collection by a model trained on the others only", async () => {
    const args = ["train", "--dataset", `${ADI}:test`, "--dataset", `${MINI}:test`, "--leave-one-out", "--trees", "5", "--min-samples-per-leaf", "20", "--candidates", "30", "--format", "json"];
    const report = JSON.parse(await runCommand(register, args));
    expect(report.model).toBeUndefined();
    expect(report.leaveOneOut.map((r: { dataset: string }) => r.dataset)).toEqual(["adi", "scifact-mini"]);
    const [a] = report.leaveOneOut;
    expect(a.queries).toBe(35);
    expect(a.wins + a.ties + a.losses).toBe(35);
    // ADI's BM25 nDCG@10 over its 35 queries (top 30 candidates) is about 0.47.
    expect(a.bm25).toBeGreaterThan(0.4);
    expect(a.delta).toBeCloseTo(a.learned - a.bm25, 12);
    const table = await runCommand(register, args.slice(0, -2));
    expect(table).toMatch(/leave-one-collection-out/);
    expect(table).toMatch(/adi \(test\)/);
  });

  it("parses --dataset DIR[:split]", () => {
    expect(parseDatasetArg("../shared/datasets/cisi:test", "train")).toEqual({ dir: "../shared/datasets/cisi", split: "test" });
    expect(parseDatasetArg("../shared/datasets/cisi", "train")).toEqual({ dir: "../shared/datasets/cisi", split: "train" });
    expect(parseDatasetArg("C:\\data\\cisi", "train")).toEqual({ dir: "C:\\data\\cisi", split: "train" });
  });

  it("rejects bad flags naming the flag and its limit", async () => {
    await expect(runCommand(register, ["train", "--dataset", ADI, "--leave-one-out"])).rejects.toThrowError(/--leave-one-out needs at least two --dataset/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--dataset", MINI, "--qrels", "x.tsv", "--out", "x.json"])).rejects.toThrowError(/--qrels works with one --dataset only/);
    await expect(runCommand(register, ["train", "--split", "test", "--out", "x.json"])).rejects.toThrowError(/--dataset <dir> is required/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--split", "test"])).rejects.toThrowError(/--out <file> is required/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--cv", "1"])).rejects.toThrowError(/--cv must be an integer from 2 to 100/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--cv", "5", "--cv-select", "best"])).rejects.toThrowError(/--cv-select must be nested or fixed/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--cv", "5", "--inner-folds", "1"])).rejects.toThrowError(/--inner-folds must be an integer from 2 to 20/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--out", "x.json", "--leaves", "1"])).rejects.toThrowError(/--leaves must be an integer from 2 to 1024/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--out", "x.json", "--features", "bm25,nope"])).rejects.toThrowError(/unknown feature "nope"/);
    await expect(runCommand(register, ["train", "--dataset", ADI, "--split", "nosuch", "--out", "x.json"])).rejects.toThrowError(/nosuch/);
  });
});
