import { chmod, cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finetuneCrossEncoder } from "../../src/finetune/finetune.js";
import { findPythonWithTorch } from "../../src/finetune/python-runtime.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { repoPaths } from "../support/shared-datasets.js";

const MINI = join(repoPaths.root, "examples/scifact-mini");

/** Bad input is refused in one line naming the file (or the command to run), before any training. */
describe("finetuneCrossEncoder refuses bad input", () => {
  let dir: string;
  let tiny: string;
  let python: string;
  let firstQuery: string;
  let firstDoc: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-ft-errors-"));
    tiny = await ensureGeneratedModel("tiny-bert");
    python = (await findPythonWithTorch()).python;
    const line = (await readFile(join(MINI, "qrels/test.tsv"), "utf8")).split("\n")[1].split("\t");
    [firstQuery, firstDoc] = line;
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const base = () => ({ model: tiny, dataset: MINI, out: join(dir, `out-${Math.random().toString(36).slice(2)}`), steps: 1, python, onWarning: () => undefined });

  it("labels naming a query the dataset does not have", async () => {
    const labels = join(dir, "unknown-query.tsv");
    await writeFile(labels, `query-id\tcorpus-id\tscore\n${firstQuery}\t${firstDoc}\t1\nno-such-query\t${firstDoc}\t1\n`);
    await expect(finetuneCrossEncoder({ ...base(), labels })).rejects.toThrow(new RegExp(`^${labels.replace(/[.]/g, "\\.")}:3: query "no-such-query" is not in .*scifact-mini/queries\\.jsonl$`));
  });

  it("labels naming a document the corpus does not have", async () => {
    const labels = join(dir, "unknown-doc.tsv");
    await writeFile(labels, `query-id\tcorpus-id\tscore\n${firstQuery}\tno-such-doc\t2\n`);
    const o = base();
    await expect(finetuneCrossEncoder({ ...o, labels })).rejects.toThrow(/unknown-doc\.tsv:2: query "\S+" labels document "no-such-doc", which is not in .*corpus\.jsonl$/);
    expect(existsSync(o.out)).toBe(false);
  });

  it("a model folder whose weights do not match its config", async () => {
    const model = join(dir, "mismatched");
    await cp(tiny, model, { recursive: true });
    const config = JSON.parse(await readFile(join(model, "config.json"), "utf8"));
    await writeFile(join(model, "config.json"), JSON.stringify({ ...config, intermediate_size: config.intermediate_size * 2 }));
    await expect(finetuneCrossEncoder({ ...base(), model })).rejects.toThrow(/model\.onnx: bert\.encoder\.layer\.0\.intermediate\.dense\.weight has shape \[128,512\], but .*config\.json makes it \[128,1024\] \(weights do not match the config\)$/);
  });

  it("an architecture without a graph builder", async () => {
    const model = join(dir, "modernbert");
    await cp(tiny, model, { recursive: true });
    const config = JSON.parse(await readFile(join(model, "config.json"), "utf8"));
    await writeFile(join(model, "config.json"), JSON.stringify({ ...config, model_type: "modernbert" }));
    await expect(finetuneCrossEncoder({ ...base(), model })).rejects.toThrow(/config\.json: model_type "modernbert" has no Winnow graph builder to export a fine-tuned model \(fine-tunable: bert, xlm-roberta, roberta, camembert\)$/);
  });

  it("Python missing, or Python without torch: names the command to run", async () => {
    await expect(finetuneCrossEncoder({ ...base(), python: join(dir, "no-such-python") })).rejects.toThrow(/no-such-python: no such interpreter; apt-get install python3-torch/);
    const fake = join(dir, "python-without-torch");
    await writeFile(fake, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
    await chmod(fake, 0o755);
    await expect(finetuneCrossEncoder({ ...base(), python: fake })).rejects.toThrow(/python-without-torch: cannot import torch \(no torch module\); apt-get install python3-torch/);
  });

  it("an out folder that exists, and bad numbers, naming the field", async () => {
    await expect(finetuneCrossEncoder({ ...base(), out: dir })).rejects.toThrow(/exists: choose a new folder, or overwrite it/);
    await expect(finetuneCrossEncoder({ ...base(), lr: -1 })).rejects.toThrow(/^lr must be a number from 1e-8 to 1, got -1$/);
    await expect(finetuneCrossEncoder({ ...base(), loss: "hinge" as never })).rejects.toThrow(/^loss must be one of pointwise, ranknet, margin, listwise, margin-mse/);
  });
});
