import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { parseDocsFile, readDocsFile, register as registerRerank } from "../../../src/cli/commands/rerank.js";
import { register as registerModels } from "../../../src/cli/commands/models.js";
import { register as registerCalibrate } from "../../../src/cli/commands/calibrate.js";
import { sharedDataset } from "../../support/shared-datasets.js";
import { runCommandStdout } from "../../support/run-command.js";

const run = runCommandStdout;

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

  it("refuses a file with no documents", () => {
    for (const content of ["", "\n  \n\r\n"]) {
      expect(() => parseDocsFile(content, "empty.jsonl")).toThrow(expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("empty.jsonl: no documents to rerank") }));
    }
  });

  it("refuses duplicate ids, naming both lines, including a position id that collides with an explicit one", () => {
    expect(() => parseDocsFile('{"id":"a","text":"x"}\n\n{"_id":"a","text":"y"}', "d.jsonl")).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringMatching(/^d\.jsonl:3: duplicate document id "a" \(first on line 1\)/), details: expect.objectContaining({ field: "id", line: 3 }) }),
    );
    expect(() => parseDocsFile('{"id":1,"text":"x"}\nplain text', "d.jsonl")).toThrow(/d\.jsonl:2: duplicate document id "1"/);
  });
});

describe("readDocsFile", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "winnow-docs-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("streams the same documents parseDocsFile reads", async () => {
    const file = join(dir, "ok.jsonl");
    const content = ['{"id":"a","text":"alpha","title":"T"}', "\uFEFF", '"gamma é"', "plain delta"].join("\r\n");
    writeFileSync(file, content);
    expect(await readDocsFile(file)).toEqual(parseDocsFile(content, file));
  });

  it("refuses invalid UTF-8 with the file and line instead of indexing U+FFFD", async () => {
    const file = join(dir, "latin1.jsonl");
    writeFileSync(file, Buffer.from('{"id":"a","text":"ok"}\n{"id":"b","text":"caf\xe9"}\n', "latin1"));
    await expect(readDocsFile(file)).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining(`${file}:2: not valid UTF-8`) });
  });

  it("stops at the document limit and names a missing file", async () => {
    const file = join(dir, "many.txt");
    writeFileSync(file, Array.from({ length: 10_050 }, (_, i) => `doc ${i}`).join("\n"));
    await expect(readDocsFile(file)).rejects.toMatchObject({ code: "INVALID_INPUT", details: expect.objectContaining({ max: 10_000 }) });
    await expect(readDocsFile(join(dir, "absent.jsonl"))).rejects.toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("absent.jsonl") });
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

  it("says a --model that is a file is a file, not that it does not exist", async () => {
    const docs = join(dir, "docs3.jsonl");
    writeFileSync(docs, "one\n");
    const onnx = join(model, "onnx", "model.onnx");
    const err = await run(registerRerank, ["rerank", "--model", onnx, "-q", "x", "--docs", docs]).catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: "MODEL_NOT_FOUND", message: expect.stringContaining(`${onnx} is a file, not a model folder`) });
    expect((err as Error).message.endsWith(`e.g. ${model}`)).toBe(true);
  });

  it("an empty documents file or duplicate ids are errors, not an empty or ambiguous ranking", async () => {
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, "\n\n");
    await expect(run(registerRerank, ["rerank", "--reranker", "learned", "-q", "x", "--docs", empty])).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("no documents") });
    const dup = join(dir, "dup.jsonl");
    writeFileSync(dup, '{"id":"a","text":"cats"}\n{"id":"a","text":"dogs"}\n');
    await expect(run(registerRerank, ["rerank", "--reranker", "learned", "-q", "cats", "--docs", dup])).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining('duplicate document id "a"') });
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
