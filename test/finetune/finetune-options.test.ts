import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finetuneCrossEncoder } from "../../src/finetune/finetune.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { repoPaths } from "../support/shared-datasets.js";

const MINI = join(repoPaths.root, "examples/scifact-mini");

describe("finetuneCrossEncoder options", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-ft-options-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("early stopping: stops after `patience` validations without a better nDCG@10 and keeps the best weights", async () => {
    const tiny = await ensureGeneratedModel("tiny-bert");
    const progress: number[] = [];
    const report = await finetuneCrossEncoder({
      model: tiny, dataset: MINI, split: "test", out: join(dir, "early"), loss: "pointwise",
      steps: 80, evalEvery: 2, patience: 2, lr: 1e-2, maxLength: 48, batchTokens: 768, validationQueries: 10, validationCandidates: 10, threads: 1, int8: false,
      onProgress: (p) => p.validation && progress.push(p.validation.step),
      onWarning: () => undefined,
    });
    expect(report.loss.name).toBe("pointwise");
    expect(report.stoppedEarly).toBe(true);
    expect(report.steps).toBeLessThan(80);
    expect(report.loss.curve).toHaveLength(report.steps);
    const curve = report.validation!.curve;
    expect(progress).toEqual(curve.map((p) => p.step));
    // The weights kept are the best validated after training began; the last two did not beat them.
    const trained = curve.filter((p) => p.step > 0);
    const best = trained.reduce((a, b) => (b.ndcg10 > a.ndcg10 ? b : a));
    expect(report.validation!.selectedStep).toBe(best.step);
    expect(report.validation!.after).toBe(best.ndcg10);
    expect(trained.slice(-2).every((p) => p.ndcg10 <= best.ndcg10)).toBe(true);
  }, 300_000);

  it("distils teacher scores with margin-MSE, the default when the labels carry a teacher-score column", async () => {
    const tiny = await ensureGeneratedModel("tiny-bert");
    const qrels = (await readFile(join(MINI, "qrels/test.tsv"), "utf8")).split("\n").slice(1).filter(Boolean).map((l) => l.split("\t"));
    const docIds = (await readFile(join(MINI, "corpus.jsonl"), "utf8")).split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { _id: string })._id);
    const queries = [...new Set(qrels.map((r) => r[0]))].slice(0, 20);
    const rows = ["query-id\tcorpus-id\tscore\tteacher-score"];
    queries.forEach((q, qi) => {
      const positives = qrels.filter((r) => r[0] === q).map((r) => r[1]);
      positives.forEach((d, i) => rows.push(`${q}\t${d}\t2\t${(6 - i * 0.5).toFixed(2)}`));
      // Four others each, graded 0, with lower teacher scores.
      docIds.filter((d) => !positives.includes(d)).slice(qi * 4, qi * 4 + 4).forEach((d, i) => rows.push(`${q}\t${d}\t0\t${(-1 - i).toFixed(2)}`));
    });
    const labels = join(dir, "teacher.tsv");
    await writeFile(labels, rows.join("\n") + "\n");
    const report = await finetuneCrossEncoder({
      model: tiny, dataset: MINI, labels, out: join(dir, "distilled"), steps: 10, validation: "none",
      maxLength: 48, batchTokens: 768, threads: 1, int8: false, onWarning: () => undefined,
    });
    expect(report.loss.name).toBe("margin-mse");
    expect(report.data.negatives).toBe("judged documents with teacher scores");
    expect(report.steps).toBe(10);
    expect(report.validation).toBeNull();
    expect(report.loss.curve.every(Number.isFinite)).toBe(true);
  }, 300_000);
});
