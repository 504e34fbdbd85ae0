import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import type { Command } from "commander";
import type { Qrels } from "../../eval/readers/qrels.js";
import { DEFAULT_LAMBDAMART_PARAMS, type LambdaMartParams } from "../../rerankers/learned/lambdamart.js";
import { prepareDataset, type PreparedDataset } from "../../rerankers/learned/dataset-training.js";
import { loadLearnedModel, saveLearnedModel } from "../../rerankers/learned/model-file.js";
import { validateFeatureNames } from "../../rerankers/learned/features.js";
import { DEFAULT_LEARNED_MODEL_PATH } from "../../rerankers/learned/default-model.js";
import { crossValidate, type FoldResult, type PreparedQuery, DEFAULT_BASE_MARGIN, DEFAULT_FEATURES, foldsOf, liftOf, qrelsFor, runsFor, trainModel } from "../../rerankers/learned/training.js";
import { formatMetricsTable } from "../../eval/table.js";
import { UsageError } from "../usage-error.js";
import { numberFlag } from "../number-flag.js";

interface TrainFlags {
  dataset: string[];
  leaveOneOut: boolean;
  split: string;
  out?: string;
  qrels?: string;
  validateSplit?: string;
  validateFraction?: string;
  cv?: string;
  candidates: string;
  trees?: string;
  learningRate?: string;
  leaves?: string;
  minSamplesPerLeaf?: string;
  featureFraction?: string;
  earlyStopping?: string;
  seed?: string;
  features?: string;
  initModel?: string;
  cvSelect: string;
  innerFolds: string;
  warmStart: boolean;
  format: string;
}

function paramsFromFlags(flags: TrainFlags): Partial<LambdaMartParams> {
  const p: Partial<LambdaMartParams> = {};
  const set = <K extends keyof LambdaMartParams>(k: K, v: number | undefined) => {
    if (v !== undefined) p[k] = v as LambdaMartParams[K];
  };
  set("trees", numberFlag("--trees", flags.trees, { min: 1, max: 100_000 }));
  set("learningRate", numberFlag("--learning-rate", flags.learningRate, { min: 1e-6, max: 1, integer: false }));
  set("maxLeaves", numberFlag("--leaves", flags.leaves, { min: 2, max: 1024 }));
  set("minSamplesPerLeaf", numberFlag("--min-samples-per-leaf", flags.minSamplesPerLeaf, { min: 1, max: 1e9 }));
  set("featureFraction", numberFlag("--feature-fraction", flags.featureFraction, { min: 0.01, max: 1, integer: false }));
  set("earlyStoppingRounds", numberFlag("--early-stopping", flags.earlyStopping, { min: 0, max: 100_000 }));
  set("seed", numberFlag("--seed", flags.seed, { min: 0, max: 2 ** 31 - 1 }));
  return p;
}

const pct = (x: number) => (x >= 0.0005 ? `${(100 * x).toFixed(1)}%` : "<0.1%");

function importanceTable(importance: Array<{ feature: string; gain: number }>): string {
  const width = Math.max(...importance.map((i) => i.feature.length));
  return importance.map((i) => `  ${i.feature.padEnd(width)}  ${pct(i.gain).padStart(6)}  ${"#".repeat(Math.round(i.gain * 40))}`).join("\n");
}

/** One `--dataset` value: `DIR` (split from --split) or `DIR:SPLIT`. */
export interface DatasetArg {
  dir: string;
  split: string;
}

/**
 * Parses `DIR[:SPLIT]`. A value that is itself an existing path is a folder (so a folder
 * whose name has a colon still works); otherwise the text after the last colon is the split.
 */
export function parseDatasetArg(value: string, defaultSplit: string): DatasetArg {
  const m = /^(.+):([A-Za-z0-9_.-]+)$/.exec(value);
  if (!m || existsSync(value) || /^[A-Za-z]$/.test(m[1])) return { dir: value, split: defaultSplit };
  return { dir: m[1], split: m[2] };
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * Pools several prepared datasets into one training set. Query ids are prefixed with the
 * dataset's name ("cranfield/1") so that two collections' query "1" stay two queries in
 * folds, validation and evaluation.
 */
function pooled(parts: ReadonlyArray<{ label: string; data: PreparedDataset }>): { queries: PreparedQuery[]; qrels: Qrels } {
  if (parts.length === 1) return { queries: parts[0].data.queries, qrels: parts[0].data.qrels };
  const queries: PreparedQuery[] = [];
  const qrels: Qrels = new Map();
  for (const { label, data } of parts) {
    for (const p of data.queries) {
      const id = `${label}/${p.query.id ?? ""}`;
      queries.push({ ...p, query: { ...p.query, id } });
      qrels.set(id, data.qrels.get(p.query.id ?? "") ?? new Map());
    }
  }
  return { queries, qrels };
}

/** Distinct short names for the datasets (folder names, numbered when two share one). */
function labelsOf(args: readonly DatasetArg[]): string[] {
  const names = args.map((a) => basename(resolve(a.dir)));
  return names.map((n, i) => (names.filter((m) => m === n).length > 1 ? `${n}#${i + 1}` : n));
}

export function register(program: Command): void {
  program
    .command("train")
    .description("train a learned (LambdaMART) reranker on one or several BEIR folders' judgments, cross-validate one, or measure it leave-one-collection-out")
    .option("--dataset <dir[:split]>", "BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv); repeat to train on several collections, each as DIR:SPLIT or DIR (then --split)", collect, [])
    .option("--split <name>", "judged split to learn from (for each --dataset without :SPLIT)", "train")
    .option("--leave-one-out", "with several --dataset: train on all but one, evaluate on the one left out, for each (nDCG@10 vs BM25); writes a model only with --out (trained on all)", false)
    .option("--out <file>", "where to write the model JSON (required unless --cv)")
    .option("--qrels <file>", "learn from these judgments instead of qrels/<split>.tsv (e.g. from `winnow label`)")
    .option("--validate-split <name>", "early-stop on this split's queries (e.g. dev)")
    .option("--validate-fraction <f>", "early-stop on this fraction of the training queries (default 0.2 when no --validate-split)")
    .option("--cv <k>", "k-fold cross-validation by query: per-fold and mean nDCG@10 vs BM25 (no model written unless --out)")
    .option("--candidates <n>", "BM25 candidates per query to learn to rerank", "100")
    .option("--trees <n>", `most trees (default ${DEFAULT_LAMBDAMART_PARAMS.trees})`)
    .option("--learning-rate <x>", `shrinkage (default ${DEFAULT_LAMBDAMART_PARAMS.learningRate})`)
    .option("--leaves <n>", `leaves per tree (default ${DEFAULT_LAMBDAMART_PARAMS.maxLeaves})`)
    .option("--min-samples-per-leaf <n>", `fewest rows per leaf (default ${DEFAULT_LAMBDAMART_PARAMS.minSamplesPerLeaf})`)
    .option("--feature-fraction <f>", `features sampled per tree (default ${DEFAULT_LAMBDAMART_PARAMS.featureFraction})`)
    .option("--early-stopping <n>", `stop after n trees without validation gain; 0 = train all, keep the best iteration (default ${DEFAULT_LAMBDAMART_PARAMS.earlyStoppingRounds})`)
    .option("--seed <n>", `seed for sampling and splits (default ${DEFAULT_LAMBDAMART_PARAMS.seed})`)
    .option("--features <list>", "comma-separated feature names (default: the shipped model's set; see docs/learned.md)")
    .option("--init-model <file>", "warm start: continue from this model (e.g. models/learned-default.json) instead of from BM25; its features are used")
    .option("--cv-select <mode>", "with --cv: nested = each fold picks BM25 order / from scratch / warm start and the tree count by an inner CV on its training queries; fixed = every fold trains the same way, early-stopping on --validate-fraction", "nested")
    .option("--inner-folds <k>", "with --cv-select nested: inner folds per outer fold", "4")
    .option("--no-warm-start", "with --cv-select nested: do not offer the shipped model (or --init-model) as a warm start")
    .option("--format <fmt>", "table | json", "table")
    .action(async (flags: TrainFlags) => {
      if (flags.format !== "table" && flags.format !== "json") throw new UsageError(`--format must be table or json, got "${flags.format}"`);
      const cv = numberFlag("--cv", flags.cv, { min: 2, max: 100 });
      if (flags.dataset.length === 0) throw new UsageError("--dataset <dir> is required (repeat it to train on several collections)");
      const datasetArgs = flags.dataset.map((d) => parseDatasetArg(d, flags.split));
      const several = datasetArgs.length > 1;
      if (flags.leaveOneOut && !several) throw new UsageError("--leave-one-out needs at least two --dataset");
      if (flags.leaveOneOut && cv !== undefined) throw new UsageError("give --leave-one-out or --cv, not both");
      if (several && flags.qrels) throw new UsageError("--qrels works with one --dataset only (give each collection its judgments as qrels/<split>.tsv)");
      if (several && flags.validateSplit) throw new UsageError("--validate-split works with one --dataset only (use --validate-fraction)");
      if (cv === undefined && !flags.leaveOneOut && !flags.out) throw new UsageError("--out <file> is required (or use --cv <k> to cross-validate, or --leave-one-out)");
      if (flags.validateSplit && flags.validateFraction) throw new UsageError("give --validate-split or --validate-fraction, not both");
      const validateFraction = numberFlag("--validate-fraction", flags.validateFraction, { min: 0, max: 0.9, integer: false }) ?? (flags.validateSplit ? 0 : 0.2);
      const candidates = numberFlag("--candidates", flags.candidates, { min: 2, max: 10_000 })!;
      if (flags.initModel && flags.features) throw new UsageError("--init-model uses the initial model's features: drop --features");
      const initModel = flags.initModel ? await loadLearnedModel(flags.initModel) : undefined;
      const features = initModel ? [...initModel.features] : flags.features ? flags.features.split(",").map((s) => s.trim()).filter(Boolean) : [...DEFAULT_FEATURES];
      try {
        validateFeatureNames(features, "--features");
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const baseMargin = initModel ? initModel.baseMargin : features.includes(DEFAULT_BASE_MARGIN.feature) ? { ...DEFAULT_BASE_MARGIN } : null;
      if (flags.cvSelect !== "nested" && flags.cvSelect !== "fixed") throw new UsageError(`--cv-select must be nested or fixed, got "${flags.cvSelect}"`);
      const innerFolds = numberFlag("--inner-folds", flags.innerFolds, { min: 2, max: 20 })!;
      const params = paramsFromFlags(flags);
      const json = flags.format === "json";
      const log = (line: string) => {
        if (!json) process.stderr.write(line + "\n");
      };
      const tty = process.stderr.isTTY && !json;
      const onQuery = tty ? (done: number, total: number) => process.stderr.write(`\r  features: ${done}/${total} queries${done === total ? "\n" : ""}`) : undefined;

      const labels = labelsOf(datasetArgs);
      const parts: Array<{ label: string; arg: DatasetArg; data: PreparedDataset }> = [];
      for (const [i, arg] of datasetArgs.entries()) {
        const data = await prepareDataset({
          dir: arg.dir,
          split: arg.split,
          qrelsFile: flags.qrels,
          candidates,
          features,
          onStage: (s) => log(s === "indexing" ? `indexing ${arg.dir} with BM25…` : `retrieving ${candidates} candidates per query (${arg.split}) and computing ${features.length} features…`),
          onQuery,
        });
        log(`  ${data.index.docCount} documents indexed in ${(data.indexMs / 1000).toFixed(1)} s; ${data.queries.length} judged queries prepared in ${(data.featureMs / 1000).toFixed(1)} s`);
        parts.push({ label: labels[i], arg, data });
      }
      const data = { ...pooled(parts.map((p) => ({ label: p.label, data: p.data }))), index: parts[0].data.index };
      const datasetLabel = several ? parts.map((p) => `${p.label}:${p.arg.split}`).join(" + ") : flags.dataset[0];
      const splitLabel = several ? "several" : datasetArgs[0].split;

      const collections = parts.map((p) => ({ dataset: resolve(p.arg.dir), split: p.arg.split, queries: p.data.queries.length }));
      const provenance = several
        ? { collections, candidates, initModel: flags.initModel ? resolve(flags.initModel) : undefined }
        : { dataset: resolve(datasetArgs[0].dir), split: datasetArgs[0].split, qrels: flags.qrels ? resolve(flags.qrels) : undefined, candidates, initModel: flags.initModel ? resolve(flags.initModel) : undefined };
      const output: Record<string, unknown> = several
        ? { datasets: collections, queries: data.queries.length, candidates, features }
        : { dataset: flags.dataset[0], split: datasetArgs[0].split, queries: data.queries.length, candidates, features };

      if (flags.leaveOneOut) {
        // Each collection scored by a model that never saw it: the honest figure for a collection
        // the shipped model will meet. Fixed tree count (no early stopping), as the final fit.
        const rows: Array<{ dataset: string; split: string; queries: number; bm25: number; learned: number; delta: number; wins: number; ties: number; losses: number }> = [];
        log(`leave-one-collection-out over ${parts.length} collections…`);
        for (const left of parts) {
          const rest = pooled(parts.filter((p) => p !== left).map((p) => ({ label: p.label, data: p.data })));
          const trained = trainModel(rest.queries, { features, baseMargin, initModel, marginOnly: true, params: { ...params, earlyStoppingRounds: 0 } });
          const lift = liftOf(left.data.qrels, runsFor(trained.model, left.data.queries), ["ndcg_cut_10"]);
          const row = { dataset: left.label, split: left.arg.split, queries: lift.queries, bm25: lift.firstStage.ndcg_cut_10, learned: lift.reranked.ndcg_cut_10, delta: lift.reranked.ndcg_cut_10 - lift.firstStage.ndcg_cut_10, wins: lift.wins, ties: lift.ties, losses: lift.losses };
          rows.push(row);
          log(`  ${left.label} left out: nDCG@10 bm25 ${row.bm25.toFixed(4)} → learned ${row.learned.toFixed(4)}`);
        }
        output.leaveOneOut = rows;
        if (!json) {
          console.log(`nDCG@10, leave-one-collection-out (each row: trained on the other collections, top ${candidates} BM25 candidates)`);
          console.log(formatMetricsTable(rows.map((r) => ({ label: `${r.dataset} (${r.split})`, metrics: { bm25: r.bm25, learned: r.learned, delta: r.delta } })), { labelHeader: "left out" }));
          const mean = (k: "bm25" | "learned") => rows.reduce((a, r) => a + r[k], 0) / rows.length;
          console.log(`mean over the left-out collections: bm25 ${mean("bm25").toFixed(4)} → learned ${mean("learned").toFixed(4)}; wins/ties/losses per query: ${rows.map((r) => `${r.dataset} ${r.wins}/${r.ties}/${r.losses}`).join(", ")}`);
        }
        if (!flags.out) {
          if (json) console.log(JSON.stringify(output, null, 2));
          return;
        }
      }

      if (cv !== undefined) {
        const nested = flags.cvSelect === "nested";
        // The warm-start candidate of nested selection: --init-model, else the shipped model
        // when training reads its features with its margin (the default feature set).
        let warmFrom = initModel;
        if (nested && !warmFrom && flags.warmStart) {
          const shipped = await loadLearnedModel(DEFAULT_LEARNED_MODEL_PATH);
          const same = shipped.features.length === features.length && shipped.features.every((f, i) => f === features[i]) && JSON.stringify(shipped.baseMargin) === JSON.stringify(baseMargin);
          if (same) warmFrom = shipped;
        }
        if (nested && !flags.warmStart) warmFrom = undefined;
        log(
          nested
            ? `${cv}-fold cross-validation by query, nested: each fold chooses among BM25 order, from scratch${warmFrom ? `, warm start from ${flags.initModel ?? "the shipped model"}` : ""} and the tree count (0..${params.trees ?? DEFAULT_LAMBDAMART_PARAMS.trees}) by ${innerFolds}-fold CV on its training queries…`
            : `${cv}-fold cross-validation by query (early stopping on ${pct(validateFraction || 0.2)} of each training part)…`,
        );
        const describe = (f: FoldResult) =>
          f.choice
            ? `${f.choice.trees === 0 ? (f.choice.start === "warm" ? "initial model unchanged" : "BM25 order (0 trees)") : `${f.choice.start === "warm" ? "warm start" : "from scratch"}, ${f.choice.trees} trees`} (inner nDCG@10 ${f.choice.innerBm25.toFixed(4)} → ${f.choice.innerNdcg.toFixed(4)})`
            : `${f.trees} trees`;
        const result = crossValidate(data.queries, data.qrels, cv, {
          features,
          baseMargin,
          initModel: nested ? warmFrom : initModel,
          marginOnly: true,
          params,
          validateFraction: validateFraction || 0.2,
          seed: params.seed ?? DEFAULT_LAMBDAMART_PARAMS.seed,
          nested: nested ? { innerFolds } : undefined,
          onFold: (f) => log(`  fold ${f.fold}: ${f.testQueries} queries, ${describe(f)}, nDCG@10 bm25 ${f.firstStage.toFixed(4)} → learned ${f.reranked.toFixed(4)}`),
        });
        output.cv = result;
        if (!json) {
          const rows = result.folds.map((f) => ({ label: `fold ${f.fold}`, metrics: { bm25: f.firstStage, learned: f.reranked, delta: f.reranked - f.firstStage } }));
          if (nested) console.log(`per-fold choices (inner ${innerFolds}-fold CV on the fold's training queries only):\n${result.folds.map((f) => `  fold ${f.fold}: ${describe(f)}`).join("\n")}\n`);
          rows.push({ label: "all queries", metrics: { bm25: result.firstStage, learned: result.reranked, delta: result.reranked - result.firstStage } });
          console.log(`nDCG@10, ${cv}-fold CV on ${datasetLabel} (${splitLabel}, ${data.queries.length} queries, top ${candidates} BM25 candidates)`);
          console.log(formatMetricsTable(rows, { labelHeader: "fold" }));
          console.log(`per query vs BM25: ${result.wins} wins, ${result.ties} ties, ${result.losses} losses; paired randomization test p = ${result.pValue.toFixed(3)}`);
          console.log(`\nfeature importance (split gain, mean over folds):\n${importanceTable(result.importance)}`);
        }
        if (!flags.out) {
          if (json) console.log(JSON.stringify(output, null, 2));
          return;
        }
      }

      let train = data.queries;
      let validation = undefined as typeof data.queries | undefined;
      let validationQrels = data.qrels;
      if (flags.validateSplit) {
        log(`preparing validation split ${flags.validateSplit}…`);
        const v = await prepareDataset({ dir: datasetArgs[0].dir, split: flags.validateSplit, candidates, features, index: data.index });
        validation = v.queries;
        validationQrels = v.qrels;
      } else if (validateFraction > 0) {
        const folds = foldsOf(data.queries, Math.max(2, Math.round(1 / validateFraction)), params.seed ?? DEFAULT_LAMBDAMART_PARAMS.seed);
        validation = folds[0];
        train = folds.slice(1).flat();
      }
      log(`training LambdaMART on ${train.length} queries${validation ? `, early stopping on ${validation.length}` : ""}…`);
      const trees = params.trees ?? DEFAULT_LAMBDAMART_PARAMS.trees;
      const trained = trainModel(train, {
        features,
        baseMargin,
        initModel,
        marginOnly: true,
        params,
        validation,
        provenance: { ...provenance, validation: flags.validateSplit ?? (validateFraction > 0 ? `${validateFraction} of ${several ? "the pooled queries" : datasetArgs[0].split}` : "none") },
        onProgress: (p) => {
          if (tty) process.stderr.write(`\r  tree ${p.tree}/${trees}  train nDCG@10 ${p.trainNdcg.toFixed(4)}${p.validNdcg !== undefined ? `  validation ${p.validNdcg.toFixed(4)}` : ""}   `);
          else if (!json && p.tree % 50 === 0) log(`  tree ${p.tree}/${trees}`);
        },
      });
      if (tty) process.stderr.write("\n");
      await saveLearnedModel(trained.model, flags.out!);
      output.model = resolve(flags.out!);
      output.trees = trained.model.trees.length;
      output.importance = trained.importance;
      if (validation?.length) {
        // Only the held-out queries' judgments: the split's qrels would average in every training query too.
        const lift = liftOf(qrelsFor(validation, validationQrels), runsFor(trained.model, validation));
        output.validation = { queries: lift.queries, bm25: lift.firstStage, learned: lift.reranked, wins: lift.wins, ties: lift.ties, losses: lift.losses };
        if (!json) {
          console.log(`validation (${lift.queries} held-out queries, trec_eval measures):`);
          console.log(formatMetricsTable([
            { label: "bm25", metrics: lift.firstStage },
            { label: "bm25 + learned", metrics: lift.reranked },
          ]));
          console.log(`nDCG@10 wins/ties/losses: ${lift.wins}/${lift.ties}/${lift.losses}`);
        }
      }
      if (json) console.log(JSON.stringify(output, null, 2));
      else {
        console.log(`\nfeature importance (split gain):\n${importanceTable(trained.importance)}`);
        console.log(`\nwrote ${flags.out} (${trained.model.trees.length} trees). Use it: winnow eval --dataset DIR --reranker learned --model ${flags.out}`);
      }
    });
}
