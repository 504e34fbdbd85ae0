/**
 * `finetuneCrossEncoder`: labels in, your own cross-encoder out. Node prepares the data
 * (labels checked against the corpus, hard negatives from a registered first stage,
 * tokenized as the reranker tokenizes), the shipped Python trainer trains on PyTorch
 * (scripts/finetune/trainer.py, protocol in trainer-protocol.ts), and Node exports the
 * result: Hugging Face layout, onnx/model.onnx from Winnow's own graph builder, the int8
 * graph in the scheme exact on this CPU, a model card and the report.
 *
 * Everything is staged in `<out>.partial/` and renamed into place at the end, so a killed
 * run leaves no half model folder; the same folder holds the checkpoint `resume` continues.
 */
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, symlink } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { writeFileAtomic } from "../core/atomic-file.js";
import { WinnowError } from "../core/errors.js";
import { SeededRandom } from "../core/seeded-random.js";
import { readQueries } from "../eval/readers/beir.js";
import { readQrels, type Qrels } from "../eval/readers/qrels.js";
import { resolveModelSource } from "../models/model-source.js";
import { buildModel } from "../onnx/bert-graph.js";
import { saveModel } from "../onnx/onnx-graph.js";
import { quantizeModel, resolveWeightScheme } from "../onnx/quantize.js";
import { createRetriever, type RetrieverSpec } from "../retrieval/registry.js";
import { PairEncoder } from "../rerankers/cross-encoder/pair-encoder.js";
import { pairTemplateFromTokenizerJson } from "../rerankers/cross-encoder/pair-template.js";
import { readArchitecture, type FinetuneArchitecture } from "./architecture.js";
import { renderFinetuneHtml, renderModelCard, type FinetuneReport } from "./finetune-report.js";
import { loadModelWeights, toGraphWeights, type HfWeights } from "./model-weights.js";
import { findPythonWithTorch } from "./python-runtime.js";
import { readFloatTensor, readSafetensorsHeader, writeSafetensors } from "./safetensors.js";
import { runTrainer, type TrainerEvent } from "./trainer-process.js";
import { TRAINER_LOSSES, TRAINER_PROTOCOL, packedRowTensors, sha256File, writeTensorSet, type TrainerHyper, type TrainerLoss } from "./trainer-protocol.js";
import { buildTrainingData, labelledTexts } from "./training-data.js";
import { readTrainingLabels, type TrainingLabels } from "./training-labels.js";

export interface FinetuneProgress {
  stage: "prepare" | "train" | "export";
  message?: string;
  step?: number;
  total?: number;
  loss?: number;
  stepsPerSecond?: number;
  etaSeconds?: number;
  validation?: { step: number; ndcg10: number };
}

export interface FinetuneCrossEncoderOptions {
  /** Base model: a folder in the Hugging Face layout (model.safetensors, or onnx/model.onnx's initializers) or a cached hub id. */
  model: string;
  /** Output model folder (must not exist unless `overwrite`). */
  out: string;
  /** BEIR folder (corpus.jsonl, queries.jsonl, qrels/); or give `corpus` and `queries` files. */
  dataset?: string;
  corpus?: string;
  queries?: string;
  /** Labels file: `winnow label` output, BEIR or TREC qrels, or a TSV with a teacher-score column. Default: the dataset's qrels/<split>.tsv. */
  labels?: string;
  split?: string;
  /** "held-out" (default: a seeded share of the labelled queries), a split of the dataset, a qrels file, or "none". */
  validation?: string;
  validationFraction?: number;
  validationQueries?: number;
  validationCandidates?: number;
  /** Default: margin-mse when the labels carry teacher scores, else listwise. */
  loss?: TrainerLoss;
  negatives?: number;
  negativeDepth?: number;
  /** First stage for hard negatives and validation candidates (default bm25). */
  retriever?: RetrieverSpec;
  lr?: number;
  /** Warm-up steps (≥ 1) or a fraction of the planned steps (< 1); default 0.1. */
  warmup?: number;
  steps?: number;
  epochs?: number;
  batchTokens?: number;
  accumulate?: number;
  maxLength?: number;
  seed?: number;
  dropout?: number;
  weightDecay?: number;
  margin?: number;
  evalEvery?: number;
  /** Stop after this many validations without a better nDCG@10 (default: never). */
  patience?: number;
  checkpointEvery?: number;
  resume?: boolean;
  overwrite?: boolean;
  /** Write onnx/model_quantized.onnx too (default true). */
  int8?: boolean;
  python?: string;
  threads?: number;
  onProgress?: (p: FinetuneProgress) => void;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export const FINETUNE_DEFAULTS = {
  lr: 5e-5,
  warmup: 0.1,
  batchTokens: 8192,
  accumulate: 1,
  maxLength: 256,
  seed: 42,
  dropout: 0.1,
  weightDecay: 0.01,
  margin: 1,
  negatives: 3,
  negativeDepth: 30,
  validationFraction: 0.1,
  validationQueries: 100,
  validationCandidates: 30,
} as const;

function check(field: string, value: number | undefined, min: number, max: number, integer: boolean): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new WinnowError("CONFIG_INVALID", `${field} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${value}`, { details: { field, min, max } });
  }
}

const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "sentencepiece.bpe.model", "merges.txt", "vocab.json", "added_tokens.json"];

function encoderFor(dir: string, arch: FinetuneArchitecture, maxLength: number): PairEncoder {
  const tokenizerJson = JSON.parse(readText(join(dir, "tokenizer.json"))) as object;
  const tcPath = join(dir, "tokenizer_config.json");
  const tokenizerConfig = existsSync(tcPath) ? (JSON.parse(readText(tcPath)) as object) : {};
  const limit = arch.family === "xlmr" ? arch.preset.maxPositionEmbeddings - arch.padTokenId - 1 : arch.preset.maxPositionEmbeddings;
  if (maxLength > limit) throw new WinnowError("CONFIG_INVALID", `maxLength ${maxLength} exceeds what ${dir} takes (${limit} positions)`, { details: { field: "maxLength", max: limit } });
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  return new PairEncoder(tokenizer, pairTemplateFromTokenizerJson(tokenizerJson as never, join(dir, "tokenizer.json")), maxLength);
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot read ${path}: ${(err as Error).message}`, { details: { file: path }, cause: err });
  }
}

/** A BEIR-shaped folder over separate corpus/queries files (symlinks), so readers and retrievers take it. */
async function datasetFolder(o: FinetuneCrossEncoderOptions, run: string): Promise<string> {
  if (o.dataset !== undefined) {
    if (o.corpus !== undefined || o.queries !== undefined) throw new WinnowError("CONFIG_INVALID", "give dataset, or corpus and queries files, not both", { details: { field: "dataset" } });
    return resolve(o.dataset);
  }
  if (o.corpus === undefined || o.queries === undefined) throw new WinnowError("CONFIG_INVALID", "fine-tuning needs dataset (a BEIR folder) or both corpus and queries files", { details: { field: "dataset" } });
  const dir = join(run, "dataset");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [file, name] of [[o.corpus, "corpus.jsonl"], [o.queries, "queries.jsonl"]] as const) {
    if (!existsSync(file)) throw new WinnowError("INVALID_INPUT", `${file} does not exist`, { details: { file } });
    await symlink(resolve(file), join(dir, name));
  }
  return dir;
}

function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  const rng = new SeededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function chooseValidation(o: FinetuneCrossEncoderOptions, dataset: string, labels: TrainingLabels, seed: number, warn: (m: string) => void): Promise<{ qrels: Qrels; queryIds: string[]; name: string } | undefined> {
  const spec = o.validation ?? "held-out";
  const cap = o.validationQueries ?? FINETUNE_DEFAULTS.validationQueries;
  if (spec === "none") return undefined;
  if (spec === "held-out") {
    const ids = shuffled([...labels.qrels.keys()].filter((q) => [...labels.qrels.get(q)!.values()].some((g) => g > 0)), seed ^ 0x5eed);
    const n = Math.min(cap, Math.round(ids.length * (o.validationFraction ?? FINETUNE_DEFAULTS.validationFraction)));
    if (n < 1) {
      warn(`too few labelled queries (${ids.length}) to hold some out for validation: training without validation (pass validation: a split or qrels file)`);
      return undefined;
    }
    return { qrels: labels.qrels, queryIds: ids.slice(0, n), name: `${n} labelled queries held out of ${labels.file}` };
  }
  const file = existsSync(spec) ? spec : join(dataset, "qrels", `${spec}.tsv`);
  if (!existsSync(file)) throw new WinnowError("INVALID_INPUT", `validation "${spec}" is neither a qrels file nor a split of ${dataset} (no ${file})`, { details: { field: "validation", file } });
  if (resolve(file) === resolve(labels.file)) throw new WinnowError("CONFIG_INVALID", `validation ${file} is the training labels file: validate on other queries (or the default held-out share)`, { details: { field: "validation" } });
  const qrels = await readQrels(file);
  const ids = shuffled([...qrels.keys()], seed ^ 0x5eed).slice(0, cap);
  return { qrels, queryIds: ids, name: `${ids.length} queries of ${file}` };
}

async function readTrainedWeights(path: string, arch: FinetuneArchitecture): Promise<HfWeights> {
  const header = await readSafetensorsHeader(path);
  const out: HfWeights = new Map();
  for (const p of arch.parameters) {
    const e = header.tensors.get(p.name);
    if (!e || e.shape.join() !== p.shape.join()) throw new WinnowError("INTERNAL", `${path}: the trainer wrote ${p.name} ${e ? JSON.stringify(e.shape) : "missing"}, expected ${JSON.stringify(p.shape)}`);
    out.set(p.name, { shape: p.shape, data: await readFloatTensor(path, header, p.name) });
  }
  return out;
}

/** Replaces `out` with `staged` by renames only: `out` is the old folder or the new one, never half. */
async function publishFolder(staged: string, out: string): Promise<void> {
  if (!existsSync(out)) {
    await rename(staged, out);
    return;
  }
  const trash = join(dirname(out), `.${basename(out)}.old-${process.pid}-${randomBytes(3).toString("hex")}`);
  await rename(out, trash);
  await rename(staged, out);
  await rm(trash, { recursive: true, force: true });
}

export async function finetuneCrossEncoder(o: FinetuneCrossEncoderOptions): Promise<FinetuneReport> {
  const started = performance.now();
  const warn = o.onWarning ?? ((m: string) => process.stderr.write(`winnow: warning: ${m}\n`));
  const progress = (p: FinetuneProgress) => o.onProgress?.(p);
  check("lr", o.lr, 1e-8, 1, false);
  check("warmup", o.warmup, 0, 1e7, false);
  check("steps", o.steps, 1, 1e8, true);
  check("epochs", o.epochs, 1, 10_000, true);
  check("batchTokens", o.batchTokens, 64, 1 << 24, true);
  check("accumulate", o.accumulate, 1, 1024, true);
  check("maxLength", o.maxLength, 16, 8192, true);
  check("seed", o.seed, 0, 0xffffffff, true);
  check("dropout", o.dropout, 0, 0.9, false);
  check("weightDecay", o.weightDecay, 0, 1, false);
  check("margin", o.margin, 0, 100, false);
  check("negatives", o.negatives, 1, 64, true);
  check("negativeDepth", o.negativeDepth, 1, 10_000, true);
  check("validationFraction", o.validationFraction, 0, 0.5, false);
  check("validationQueries", o.validationQueries, 1, 100_000, true);
  check("validationCandidates", o.validationCandidates, 1, 1000, true);
  check("evalEvery", o.evalEvery, 1, 1e8, true);
  check("patience", o.patience, 1, 1e6, true);
  check("checkpointEvery", o.checkpointEvery, 1, 1e8, true);
  check("threads", o.threads, 1, 1024, true);
  if (o.loss !== undefined && !TRAINER_LOSSES.includes(o.loss)) {
    throw new WinnowError("CONFIG_INVALID", `loss must be one of ${TRAINER_LOSSES.join(", ")}, got ${JSON.stringify(o.loss)}`, { details: { field: "loss" } });
  }
  const out = resolve(o.out);
  if (existsSync(out) && !o.overwrite) throw new WinnowError("CONFIG_INVALID", `out ${out} exists: choose a new folder, or overwrite it`, { details: { field: "out", path: out } });
  const run = `${out}.partial`;
  if (existsSync(join(run, "checkpoint", "checkpoint.json")) && !o.resume) {
    throw new WinnowError("CONFIG_INVALID", `${run} holds the checkpoint of an unfinished run: resume it, or remove ${run}`, { details: { field: "resume", path: run } });
  }

  // Python first: a missing torch should cost the user a second, not a data pass.
  const runtime = await findPythonWithTorch(o.python);
  progress({ stage: "prepare", message: `python ${runtime.python} (torch ${runtime.torchVersion})` });

  const source = await resolveModelSource(o.model, { required: ["config.json", "tokenizer.json"] }, { offline: true });
  const arch = await readArchitecture(join(source.dir, "config.json"));
  const base = await loadModelWeights(source.dir, arch);
  if (base.unused.length > 0) warn(`${base.file}: ${base.unused.length} tensors the ${arch.modelType} cross-encoder does not use are ignored (first: ${base.unused[0]})`);
  const maxLength = o.maxLength ?? Math.min(FINETUNE_DEFAULTS.maxLength, arch.preset.maxPositionEmbeddings);
  const encoder = encoderFor(source.dir, arch, maxLength);

  await mkdir(join(run, "data"), { recursive: true });
  const dataset = await datasetFolder(o, run);
  const split = o.split ?? "train";
  const labelsFile = o.labels ?? join(dataset, "qrels", `${split}.tsv`);
  const labels = await readTrainingLabels(labelsFile);
  const loss: TrainerLoss = o.loss ?? (labels.teacher ? "margin-mse" : "listwise");
  if (loss === "margin-mse" && !labels.teacher) {
    throw new WinnowError("CONFIG_INVALID", `loss margin-mse needs teacher scores: ${labelsFile} has no teacher-score column (query-id corpus-id score teacher-score)`, { details: { field: "loss", file: labelsFile } });
  }
  const seed = o.seed ?? FINETUNE_DEFAULTS.seed;
  const queries = await readQueries(dataset);
  const texts = await labelledTexts(dataset, queries, labels);
  const validation = await chooseValidation(o, dataset, labels, seed, warn);
  progress({ stage: "prepare", message: "indexing the first stage" });
  const retrieverSpec = o.retriever ?? { type: "bm25" };
  const retriever = await createRetriever(retrieverSpec, { dataset, progress: (m) => progress({ stage: "prepare", message: m }) });
  const negatives = o.negatives ?? FINETUNE_DEFAULTS.negatives;
  let data;
  try {
    data = await buildTrainingData({
      dataset,
      queries,
      labels,
      texts,
      validation,
      retriever,
      encoder,
      negatives,
      negativeDepth: o.negativeDepth ?? FINETUNE_DEFAULTS.negativeDepth,
      validationCandidates: o.validationCandidates ?? FINETUNE_DEFAULTS.validationCandidates,
      seed,
      needTeacher: loss === "margin-mse",
      onProgress: (stage, done, total) => progress({ stage: "prepare", message: `${stage} ${done}/${total}` }),
    });
  } finally {
    await retriever.close?.();
  }

  const dataDir = join(run, "data");
  const trainHeader = await writeTensorSet(dataDir, "train", "groups", { ...packedRowTensors(data.rows), labels: data.labels, teacher: data.teacher }, { group_size: data.groupSize });
  const validationHeader = data.validation
    ? await writeTensorSet(dataDir, "validation", "queries", {
        ...packedRowTensors(data.validation.rows),
        labels: data.validation.labels,
        query_offsets: BigInt64Array.from(data.validation.queryOffsets, (v) => BigInt(v)),
        ideal_dcg: data.validation.idealDcg,
      }, { k: 10 })
    : null;
  const init = join(run, "init.safetensors");
  await writeSafetensors(init, base.weights, { format: "pt", source: base.file });

  const hyper: TrainerHyper = {
    loss,
    lr: o.lr ?? FINETUNE_DEFAULTS.lr,
    warmup_steps: o.warmup ?? FINETUNE_DEFAULTS.warmup,
    steps: o.steps ?? null,
    epochs: o.epochs ?? (o.steps === undefined ? 1 : null),
    batch_tokens: o.batchTokens ?? FINETUNE_DEFAULTS.batchTokens,
    accumulate: o.accumulate ?? FINETUNE_DEFAULTS.accumulate,
    seed,
    dropout: o.dropout ?? FINETUNE_DEFAULTS.dropout,
    weight_decay: o.weightDecay ?? FINETUNE_DEFAULTS.weightDecay,
    max_grad_norm: 1,
    margin: o.margin ?? FINETUNE_DEFAULTS.margin,
    eval_every: o.evalEvery ?? null,
    patience: o.patience ?? null,
    checkpoint_every: o.checkpointEvery ?? null,
    threads: o.threads ?? null,
  };
  // A checkpoint resumes only the run it came from: same data, weights, architecture and options.
  const hash = createHash("sha256").update(JSON.stringify({ protocol: TRAINER_PROTOCOL, hyper: { ...hyper, threads: null }, arch: arch.trainerConfig }));
  for (const f of [trainHeader, validationHeader, init]) if (f) hash.update(await sha256File(f));
  for (const t of ["input_ids", "token_type_ids", "row_offsets", "labels", "teacher"]) hash.update(await sha256File(join(dataDir, `train.${t}.bin`)));
  const fingerprint = hash.digest("hex");
  const prepared = performance.now();

  const trainedDir = join(run, "trained");
  let total = 0;
  let firstSeconds: number | undefined;
  let firstStep = 0;
  await runTrainer(
    {
      protocol: TRAINER_PROTOCOL,
      mode: "train",
      architecture: arch.trainerConfig,
      init,
      out: trainedDir,
      train: trainHeader,
      validation: validationHeader,
      hyper,
      checkpoint: join(run, "checkpoint"),
      resume: o.resume ?? false,
      fingerprint,
    },
    {
      python: runtime.python,
      workDir: run,
      signal: o.signal,
      onEvent: (e: TrainerEvent) => {
        if (e.event === "start") {
          total = e.total_steps;
          progress({ stage: "train", step: e.resumed_from ?? 0, total, message: e.resumed_from ? `resumed from step ${e.resumed_from}` : `${e.groups} groups, ${e.parameters.toLocaleString("en-US")} parameters` });
        } else if (e.event === "step") {
          // Rate over this process's steps (a resumed run's earlier steps ran elsewhere).
          if (firstSeconds === undefined) [firstSeconds, firstStep] = [e.seconds, e.step - 1];
          const sps = e.step - firstStep > 1 && e.seconds > firstSeconds ? (e.step - firstStep) / (e.seconds - firstSeconds) : undefined;
          progress({ stage: "train", step: e.step, total: e.total, loss: e.loss, stepsPerSecond: sps, etaSeconds: sps ? (e.total - e.step) / sps : undefined });
        } else if (e.event === "validation") {
          progress({ stage: "train", validation: { step: e.step, ndcg10: e.ndcg10 }, total });
        } else if (e.event === "early_stop") {
          progress({ stage: "train", message: `stopped early at step ${e.step}: no better validation nDCG@10 in ${e.patience} evaluations (best at step ${e.best_step})` });
        }
      },
    },
  );
  const trained = performance.now();
  const result = JSON.parse(await readFile(join(trainedDir, "result.json"), "utf8")) as {
    steps: number; planned_steps: number; stopped_early: boolean; resumed_from: number | null; losses: number[]; validation: Array<{ step: number; ndcg10: number }>;
    selected_step: number; seconds: number; epochs: number; threads: number; steps_per_epoch: number;
  };

  progress({ stage: "export", message: "building onnx/model.onnx" });
  const weights = await readTrainedWeights(join(trainedDir, "model.safetensors"), arch);
  const staged = join(run, "model");
  await rm(staged, { recursive: true, force: true });
  await mkdir(join(staged, "onnx"), { recursive: true });
  const files: string[] = [];
  await copyFile(join(trainedDir, "model.safetensors"), join(staged, "model.safetensors"));
  files.push("model.safetensors");
  await copyFile(join(source.dir, "config.json"), join(staged, "config.json"));
  files.push("config.json");
  for (const f of TOKENIZER_FILES) {
    if (existsSync(join(source.dir, f))) {
      await copyFile(join(source.dir, f), join(staged, f));
      files.push(f);
    }
  }
  const graph = buildModel(arch.preset, toGraphWeights(weights), { padTokenId: arch.padTokenId, producerName: "winnow-finetune" });
  await saveModel(join(staged, "onnx", "model.onnx"), graph);
  files.push("onnx/model.onnx");
  let int8: FinetuneReport["int8"] = null;
  if (o.int8 ?? true) {
    progress({ stage: "export", message: "quantizing onnx/model_quantized.onnx" });
    const scheme = await resolveWeightScheme({ weights: "auto" });
    await saveModel(join(staged, "onnx", "model_quantized.onnx"), quantizeModel(graph, { weights: scheme.weights }));
    files.push("onnx/model_quantized.onnx");
    int8 = { file: "onnx/model_quantized.onnx", weights: scheme.weights, reason: scheme.reason };
  }
  const v = result.validation;
  const selected = v.find((p) => p.step === result.selected_step) ?? v[v.length - 1];
  const parameters = arch.parameters.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  const ended = performance.now();
  const report: FinetuneReport = {
    out,
    baseModel: source.id,
    architecture: { modelType: arch.modelType, layers: arch.preset.layers, hidden: arch.preset.hidden, heads: arch.preset.heads, parameters },
    weightsFrom: base.from,
    data: {
      dataset,
      labels: labelsFile,
      trainQueries: data.trainQueries,
      groups: data.groups,
      groupSize: data.groupSize,
      skippedPositives: data.skippedPositives,
      negatives: loss === "margin-mse" ? "judged documents with teacher scores" : `lower-graded judged documents and ${retrieverSpec.type} top-${o.negativeDepth ?? FINETUNE_DEFAULTS.negativeDepth} documents not judged`,
      validation: validation?.name ?? null,
      validationQueries: data.validation?.queries ?? 0,
    },
    loss: { name: loss, first: result.losses[0], last: result.losses[result.losses.length - 1], curve: result.losses },
    validation: data.validation && v.length > 0 ? { before: v[0].ndcg10, after: selected.ndcg10, firstStage: data.validation.firstStageNdcg10, selectedStep: result.selected_step, curve: v } : null,
    steps: result.steps,
    plannedSteps: result.planned_steps,
    epochs: result.epochs,
    stoppedEarly: result.stopped_early,
    resumedFrom: result.resumed_from,
    options: { ...hyper, maxLength, negatives, retriever: retrieverSpec.type },
    seconds: { prepare: (prepared - started) / 1000, train: result.seconds, export: (ended - trained) / 1000, total: (ended - started) / 1000 },
    stepsPerSecond: result.steps / Math.max(1e-9, result.seconds),
    stepsPerEpoch: result.steps_per_epoch,
    // From this process's rate: a resumed run's earlier steps ran before it.
    secondsPerEpoch: (result.steps_per_epoch * result.seconds) / Math.max(1, result.steps),
    python: { interpreter: runtime.python, torch: runtime.torchVersion, threads: result.threads },
    int8,
    files: [...files, "README.md", "finetune.json", "finetune.html"],
  };
  if (report.validation && report.validation.after <= report.validation.before) {
    warn(`validation nDCG@10 did not improve (${report.validation.before.toFixed(4)} before, ${report.validation.after.toFixed(4)} after): try more steps, another lr, or more labels`);
  }
  await writeFileAtomic(join(staged, "README.md"), renderModelCard(report));
  await writeFileAtomic(join(staged, "finetune.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFileAtomic(join(staged, "finetune.html"), renderFinetuneHtml(report));
  await publishFolder(staged, out);
  await rm(run, { recursive: true, force: true });
  return report;
}

export type { FinetuneReport };
