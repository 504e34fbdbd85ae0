/**
 * Trains the shipped default learned reranker, models/learned-default.json.
 *
 *   npx tsx scripts/train-default-model.ts [--out models/learned-default.json]
 *
 * Data: SciFact *train* queries and judgments only (../shared/datasets/scifact,
 * qrels/train.tsv); the test queries are never read. Hyper-parameters were chosen by
 * 5-fold cross-validation on SciFact train (see models/README.md); the final model is
 * fit on all 809 train queries with the chosen, fixed tree count (no early stopping,
 * so no train query is held out). Deterministic: the same data gives the same file.
 */
import { join, resolve } from "node:path";
import { prepareDataset } from "../src/rerankers/learned/dataset-training.js";
import { PACKAGE_ROOT } from "../src/rerankers/learned/default-model.js";
import { saveLearnedModel } from "../src/rerankers/learned/model-file.js";
import { DEFAULT_BASE_MARGIN, DEFAULT_FEATURES, trainModel } from "../src/rerankers/learned/training.js";
import type { LambdaMartParams } from "../src/rerankers/learned/lambdamart.js";

/** Chosen by 5-fold CV on SciFact train (models/README.md lists the configurations tried). */
export const DEFAULT_MODEL_PARAMS: Partial<LambdaMartParams> = {
  trees: 150,
  learningRate: 0.05,
  maxLeaves: 8,
  minSamplesPerLeaf: 50,
  featureFraction: 0.8,
  l2: 1,
  earlyStoppingRounds: 0,
  seed: 42,
};

const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? resolve(args[outAt + 1]) : join(PACKAGE_ROOT, "models", "learned-default.json");
const dir = join(PACKAGE_ROOT, "..", "shared", "datasets", "scifact");

const t0 = performance.now();
const data = await prepareDataset({ dir, split: "train", candidates: 100, features: DEFAULT_FEATURES });
console.error(`prepared ${data.queries.length} SciFact train queries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const trained = trainModel(data.queries, {
  features: DEFAULT_FEATURES,
  baseMargin: { ...DEFAULT_BASE_MARGIN },
  marginOnly: true,
  params: DEFAULT_MODEL_PARAMS,
  provenance: {
    dataset: "scifact (../shared/datasets/scifact, BEIR)",
    split: "train",
    candidates: 100,
    command: "npx tsx scripts/train-default-model.ts",
  },
});
await saveLearnedModel(trained.model, out);
console.log(`wrote ${out}: ${trained.model.trees.length} trees; train nDCG@10 (candidates) ${trained.trainHistory[0].toFixed(4)} → ${trained.trainHistory.at(-1)!.toFixed(4)}`);
console.log(trained.importance.map((i) => `  ${i.feature.padEnd(24)} ${(100 * i.gain).toFixed(1)}%`).join("\n"));
