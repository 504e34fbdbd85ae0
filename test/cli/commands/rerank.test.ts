import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { parseDocsFile, register as registerRerank } from "../../../src/cli/commands/rerank.js";
import { register as registerModels } from "../../../src/cli/commands/models.js";
import { register as registerCalibrate } from "../../../src/cli/commands/calibrate.js";
import { sharedDataset } from "../../support/shared-datasets.js";

/** Runs one command module on a fresh program, capturing what it writes to stdout. */
async function run(register: (p: Command) => void, args: string[]): Promise<string> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  register(program);
  let out = "";
  const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(["node", "winnow", ...args]);
  } finally {
    write.mockRestore();
    err.mockRestore();
  }
  return out;
}

describe("parseDocsFile", () => {
  it("reads JSONL documents, BEIR lines, JSON strings and plain lines", () => {
    const docs = parseDocsFile(['{"id":"a","text":"alpha","title":"T"}', '{"_id":"b","text":"beta"}', '"gamma"', "", "plain delta"].join("\n"), "f");
    expect(docs).toEqual([
      { id: "a", text: "alpha", title: "T" },
      { id: "b", text: "beta" },
      { id: "2", text: "gamma" },
      { id: "3", text: "plain delta" },
    ]);
  });

  it("names the line of a malformed or non-string entry", () => {
    expect(() => parseDocsFile('{"id":"a","text":"x"}\n{"id":"b","text":', "docs.jsonl")).toThrow(expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("docs.jsonl:2") }));
    expect(() => parseDocsFile('{"id":"a","text":7}', "docs.jsonl")).toThrow(expect.objectContaining({ code: "INVALID_INPUT", details: expect.objectContaining({ field: "text", line: 1 }) }));
  });
});

describe("winnow rerank / models / calibrate", () => {
  let model: string;
  let dir: string;
  beforeAll(async () => {
    model = await ensureGeneratedModel("tiny-bert");
    dir = mkdtempSync(join(tmpdir(), "winnow-cli-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reranks a docs file with the cross-encoder by default and prints JSON", async () => {
    const docs = join(dir, "docs.jsonl");
    writeFileSync(docs, ['{"id":"x","text":"cats purr when content"}', '{"id":"y","text":"the stock market fell"}', '{"id":"z","text":"kittens and cats"}'].join("\n"));
    const out = JSON.parse(await run(registerRerank, ["rerank", "--model", model, "-q", "why do cats purr", "--docs", docs, "--top-n", "2", "--format", "json"]));
    expect(out.reranker).toBe(`cross-encoder:${model}`);
    expect(out.results).toHaveLength(2);
    expect(out.results[0].score).toBeGreaterThanOrEqual(out.results[1].score);
    expect(["x", "y", "z"]).toContain(out.results[0].id);
    expect(out.results[0].details.windows).toBe(1);
    const table = await run(registerRerank, ["rerank", "--model", model, "-q", "why do cats purr", "--docs", docs]);
    expect(table.split("\n")[0]).toMatch(/^rank\s+id\s+score\s+logit\s+windows\s+text/);
    expect(table.trim().split("\n")).toHaveLength(4);
  });

  it("reports a bad flag value or missing model as a typed error", async () => {
    const docs = join(dir, "docs2.jsonl");
    writeFileSync(docs, "one\ntwo\n");
    await expect(run(registerRerank, ["rerank", "-q", "x", "--docs", docs])).rejects.toThrow(/--model is required/);
    await expect(run(registerRerank, ["rerank", "--model", join(dir, "absent"), "-q", "x", "--docs", docs])).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
    await expect(run(registerRerank, ["rerank", "--model", model, "-q", "x", "--docs", docs, "-O", "batchTokens=-1"])).rejects.toMatchObject({ code: "CONFIG_INVALID" });
  });

  it("lists the catalogue and the models cached in WINNOW_CACHE", async () => {
    const prev = process.env.WINNOW_CACHE;
    process.env.WINNOW_CACHE = join(dir, "empty-cache");
    try {
      const out = JSON.parse(await run(registerModels, ["models", "--format", "json"]));
      expect(out.catalogue.map((e: { id: string }) => e.id)).toContain("cross-encoder/ms-marco-MiniLM-L-6-v2");
      expect(out.catalogue.find((e: { id: string }) => e.id === "BAAI/bge-reranker-base").tokenTypeIds).toBe(false);
      expect(out.caches[0]).toBe(join(dir, "empty-cache", "hub"));
      expect(out.cached).toEqual([]);
    } finally {
      if (prev === undefined) delete process.env.WINNOW_CACHE;
      else process.env.WINNOW_CACHE = prev;
    }
  });

  // ADI (82 documents) keeps this fast; real calibrations fit on a train split.
  const adi = sharedDataset("adi");
  it.skipIf(!adi.present)(`calibrates on a judged split and writes a usable Platt mapping${adi.skipNote}`, async () => {
    const out = join(dir, "calib.json");
    const text = await run(registerCalibrate, ["calibrate", "--model", model, "--dataset", adi.dir, "--split", "test", "--queries", "4", "--candidates", "5", "--out", out]);
    expect(text).toMatch(/fitted on \d+ pairs/);
    const calib = JSON.parse(readFileSync(out, "utf8"));
    expect(calib).toMatchObject({ kind: "platt", model, fittedOn: { split: "test", queries: 4 } });
    expect(Number.isFinite(calib.a) && Number.isFinite(calib.b)).toBe(true);
    // Fitting minimizes log loss, so it can only improve on the raw sigmoid.
    expect(calib.fittedOn.logLossAfter).toBeLessThanOrEqual(calib.fittedOn.logLossBefore);
  });
});
