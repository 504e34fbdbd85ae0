import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerFinetune } from "../../src/cli/commands/finetune.js";
import { register as registerRerank } from "../../src/cli/commands/rerank.js";
import { readArchitecture } from "../../src/finetune/architecture.js";
import { loadModelWeights } from "../../src/finetune/model-weights.js";
import { findPythonWithTorch } from "../../src/finetune/python-runtime.js";
import { runTrainer } from "../../src/finetune/trainer-process.js";
import { TRAINER_PROTOCOL, packedRowTensors, writeTensorSet, type PackedRows } from "../../src/finetune/trainer-protocol.js";
import { encodePairBatch, loadModelTokenizer, scorePairs } from "../../src/onnx/fidelity.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { createReranker } from "../../src/rerankers/registry.js";
import { createServer } from "../../src/server/index.js";
import { runCommand, runCommandStdout } from "../support/run-command.js";
import { sharedDataset } from "../support/shared-datasets.js";

const scifact = sharedDataset("scifact");
// Small enough for CI on 2 cores: short pairs, small batches, one torch thread (two spin
// against each other on a loaded machine), a validation slice.
const CHEAP = ["--max-length", "64", "--batch-tokens", "1024", "--validation-candidates", "20", "--lr", "1e-3", "--threads", "1"];
/** The first TRAIN_QUERIES SciFact train queries with the whole corpus: what the test trains on. */
const TRAIN_QUERIES = 300;

async function sciFactTrainSlice(dir: string): Promise<string> {
  const slice = join(dir, "scifact-train-slice");
  await mkdir(join(slice, "qrels"), { recursive: true });
  await symlink(join(scifact.dir, "corpus.jsonl"), join(slice, "corpus.jsonl"));
  await symlink(join(scifact.dir, "queries.jsonl"), join(slice, "queries.jsonl"));
  const [header, ...lines] = (await readFile(join(scifact.dir, "qrels", "train.tsv"), "utf8")).split("\n").filter(Boolean);
  const keep = new Set<string>();
  const kept = lines.filter((l) => {
    const q = l.split("\t")[0];
    if (keep.size < TRAIN_QUERIES) keep.add(q);
    return keep.has(q);
  });
  await writeFile(join(slice, "qrels", "train.tsv"), [header, ...kept].join("\n") + "\n");
  return slice;
}

describe.skipIf(!scifact.present)(`winnow finetune on a SciFact train slice${scifact.skipNote}`, () => {
  let dir: string;
  let out: string;
  let report: {
    out: string; steps: number; files: string[];
    loss: { name: string; first: number; last: number; curve: number[] };
    validation: { before: number; after: number; firstStage: number; curve: Array<{ step: number; ndcg10: number }> };
    data: { trainQueries: number; groups: number; validationQueries: number };
    int8: { weights: string } | null;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-ft-cli-"));
    out = join(dir, "mine");
    const tiny = await ensureGeneratedModel("tiny-bert");
    const dataset = await sciFactTrainSlice(dir);
    report = JSON.parse(await runCommand(registerFinetune, ["finetune", "--model", tiny, "--dataset", dataset, "--split", "train", "--steps", "200", "--out", out, "--format", "json", ...CHEAP]));
  }, 600_000);
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("reports a falling loss and a validation nDCG@10 above the initialization's", () => {
    expect(report.steps).toBe(200);
    expect(report.loss.curve).toHaveLength(200);
    expect(report.loss.last).toBeLessThan(report.loss.first);
    // Averages too, so one lucky batch cannot pass it.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(report.loss.curve.slice(-40))).toBeLessThan(mean(report.loss.curve.slice(0, 40)));
    expect(report.validation.curve[0].step).toBe(0);
    expect(report.validation.before).toBe(report.validation.curve[0].ndcg10);
    expect(report.validation.after).toBeGreaterThan(report.validation.before);
    // 10% of the slice's queries held out, none of them trained on.
    expect(report.data.validationQueries).toBe(TRAIN_QUERIES / 10);
    expect(report.data.trainQueries).toBe(TRAIN_QUERIES - TRAIN_QUERIES / 10);
  });

  it("writes the Hugging Face layout, both ONNX graphs, a model card and the report, and no partial folder", async () => {
    for (const f of ["model.safetensors", "config.json", "tokenizer.json", "onnx/model.onnx", "onnx/model_quantized.onnx", "README.md", "finetune.json", "finetune.html"]) expect(existsSync(join(out, f)), f).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const card = await readFile(join(out, "README.md"), "utf8");
    expect(card).toMatch(/\*\*Base model:\*\* .*tiny-bert/);
    expect(card).toContain(`before ${report.validation.before.toFixed(4)} → after ${report.validation.after.toFixed(4)}`);
    const html = await readFile(join(out, "finetune.html"), "utf8");
    expect(html).toContain("chart-loss");
    expect(html).toContain("echarts");
  });

  it("the exported ONNX graph computes what the trainer computes on the trained weights (1e-4)", async () => {
    const python = (await findPythonWithTorch()).python;
    const arch = await readArchitecture(join(out, "config.json"));
    // Reading model.safetensors back checks every tensor's name and shape against config.json.
    const loaded = await loadModelWeights(out, arch);
    expect(loaded.from).toBe("safetensors");
    const { tokenizer, padId } = loadModelTokenizer(out);
    const pairs: Array<[string, string]> = [
      ["0-dimensional biomaterials lack inductive properties", "Nanotechnologies are emerging platforms that could be useful in measuring, understanding and manipulating stem cells."],
      ["vitamin d and bone density", "Vitamin D supplementation improves bone mineral density in older adults."],
      ["statin myopathy", "Unrelated text about aeronautics and boundary layers in supersonic flow."],
    ];
    const batch = encodePairBatch(tokenizer, pairs, padId, 64);
    const rows: PackedRows = { ids: [], types: [], offsets: [0] };
    batch.ids.forEach((ids, i) => {
      const n = batch.mask[i].reduce((a, b) => a + b, 0);
      rows.ids.push(...ids.slice(0, n));
      rows.types.push(...batch.types[i].slice(0, n));
      rows.offsets.push(rows.ids.length);
    });
    const work = await mkdtemp(join(dir, "fwd-"));
    const header = await writeTensorSet(work, "rows", "rows", packedRowTensors(rows));
    await runTrainer({ protocol: TRAINER_PROTOCOL, mode: "forward", architecture: arch.trainerConfig, init: join(out, "model.safetensors"), rows: header, out: work }, { python, workDir: work });
    const torchScores = new Float32Array(new Uint8Array(readFileSync(join(work, "scores.f32"))).buffer);
    const session = await ort.InferenceSession.create(join(out, "onnx", "model.onnx"));
    const onnxScores = await scorePairs(session, batch);
    await session.release();
    onnxScores.forEach((s, i) => expect(Math.abs(s - torchScores[i])).toBeLessThan(1e-4));
  }, 120_000);

  it("reranks through `winnow rerank --model OUT`", async () => {
    const docs = join(dir, "docs.jsonl");
    await writeFile(docs, ['{"id":"a","text":"Vitamin D supplementation improves bone mineral density in older adults."}', '{"id":"b","text":"Boundary layers in supersonic flow."}', '{"id":"c","text":"Bone density and vitamin D status in a cohort."}'].join("\n"));
    const res = JSON.parse(await runCommandStdout(registerRerank, ["rerank", "--model", out, "-q", "vitamin d bone density", "--docs", docs, "--format", "json"]));
    const results = (res.results ?? res) as Array<{ id: string; score: number }>;
    expect(results.map((r) => r.id).sort()).toEqual(["a", "b", "c"]);
    for (let i = 1; i < results.length; i++) expect(results[i - 1].score).toBeGreaterThanOrEqual(results[i].score);
  }, 60_000);

  it("serves through the Cohere-compatible API with the scores of the reranker itself", async () => {
    const app: FastifyInstance = createServer({ logLevel: "silent", models: [{ id: "mine", reranker: { type: "cross-encoder", model: out } }] });
    try {
      await app.listen({ host: "127.0.0.1", port: 0 });
      await app.winnow.models.loadAll();
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const documents = ["Vitamin D supplementation improves bone mineral density.", "Supersonic boundary layers.", "Statins and myopathy."];
      const served = (await (await fetch(`${url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "mine", query: "vitamin d", documents }) })).json()) as { results: Array<{ index: number; relevance_score: number }> };
      const direct = await createReranker({ type: "cross-encoder", model: out });
      const expected = await direct.rerank("vitamin d", documents, { returnDocuments: false });
      await direct.close?.();
      expect(served.results.map((r) => r.index)).toEqual(expected.map((r) => r.index));
      served.results.forEach((r, i) => expect(r.relevance_score).toBeCloseTo(expected[i].score, 5));
    } finally {
      await app.close();
    }
  }, 60_000);
});
