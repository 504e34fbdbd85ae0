import { InvalidInputError } from "../../core/errors.js";
import type { Candidate, Query } from "../../core/types.js";
import { evaluateRun } from "../../eval/evaluate.js";
import { pairedRandomizationTest } from "../../eval/significance.js";
import type { Qrels } from "../../eval/readers/qrels.js";
import type { RunEntry } from "../../eval/run.js";
import type { CorpusView } from "./corpus-view.js";
import { FEATURE_SET_VERSION, FeatureExtractor, type ExtractionContext } from "./features.js";
import { seededRandom } from "../../core/seeded-random.js";
import { DEFAULT_LAMBDAMART_PARAMS, trainLambdaMart, type LambdaMartParams, type RankingData, type TrainingProgress } from "./lambdamart.js";
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, type LearnedModel } from "./model-file.js";
import { scoreRows } from "./learned-reranker.js";

/**
 * Feature set 2's default list (the second round's shipped model): all scale-free (ratios to
 * the best candidate, fractions of the query, scores relative to the best), because raw
 * scores depend on the collection's size and query lengths and the shipped model is
 * applied to collections it never saw. Left out on purpose: doc_length_ratio,
 * max_idf_matched_ratio and term_density (priors on one corpus's length distribution that
 * hurt other collections) and raw first_stage_rank (its range is the candidate count).
 */
export const FEATURE_SET_2_DEFAULTS: readonly string[] = [
  "bm25_ratio_max",
  "bm25_zscore",
  "bm25_title_ratio_max",
  "first_stage_rank_fraction",
  "coverage",
  "idf_coverage",
  "title_coverage",
  "proximity",
  "bigram_fraction",
  "ordered_window_fraction",
  "phrase_match",
  "query_terms",
  "rm3_ratio_max",
  "ql_dirichlet",
  "dph_ratio_max",
];

/**
 * The features the shipped default model reads: feature set 2's defaults plus the three of
 * the third round's candidates that the selection kept (models/README.md): BM25F over
 * title + text (missing without titles), the candidate's similarity to the first stage's
 * top 10 (length-free pseudo-relevance evidence) and its rank by BM25+RM3 within the list.
 */
export const DEFAULT_FEATURES: readonly string[] = [...FEATURE_SET_2_DEFAULTS, "bm25f_ratio_max", "centroid_similarity", "rm3_rank_fraction"];

/**
 * The trees start from 5 × (BM25 / best BM25 in the list): the first-stage order, on a
 * scale that is the same for every collection, so the trees' corrections weigh the same
 * against BM25 everywhere (with raw BM25 as the margin, a small corpus's small IDFs let
 * the trees overrule BM25). The scale is the weight of BM25 against the trees: 10 for
 * feature set 1 (SciFact train CV), 5 for feature set 2, chosen by the shipped model's
 * selection (SciFact train CV + leave-one-collection-out; models/README.md).
 */
export const DEFAULT_BASE_MARGIN = { feature: "bm25_ratio_max", scale: 5 } as const;

/** Features computed once per query, reused by every fold and every tree. */
export interface PreparedQuery {
  query: Query;
  candidates: Candidate[];
  /** Row-major, one row per candidate, in the extractor's feature order. */
  features: Float64Array;
  /** Graded relevance from the qrels (0 when unjudged). */
  labels: Float32Array;
  /** Weight of this query in training (default 1); see RankingData.queryWeights. */
  weight?: number;
}

export type FirstStageSearch = (query: Query, k: number) => Promise<Candidate[]> | Candidate[];
/** Per-query extraction inputs (e.g. the RM3 expansion), computed only for models that read them. */
export type ExtractionContextOf = (query: Query, candidates: Candidate[]) => Promise<ExtractionContext> | ExtractionContext;

/** Retrieves candidates for each query and computes their features. */
export async function prepareQueries(
  queries: readonly Query[],
  qrels: Qrels,
  search: FirstStageSearch,
  view: CorpusView,
  extractor: FeatureExtractor,
  candidatesPerQuery: number,
  onQuery?: (done: number, total: number) => void,
  contextOf?: ExtractionContextOf,
): Promise<PreparedQuery[]> {
  if (!Number.isInteger(candidatesPerQuery) || candidatesPerQuery < 2 || candidatesPerQuery > 10_000) {
    throw new InvalidInputError(`candidates must be an integer in 2..10000, got ${candidatesPerQuery}`, { field: "candidates" });
  }
  const out: PreparedQuery[] = [];
  for (const query of queries) {
    const candidates = await search(query, candidatesPerQuery);
    const judged = qrels.get(query.id ?? "") ?? new Map<string, number>();
    const context = contextOf ? await contextOf(query, candidates) : {};
    const features = extractor.extract(view, query.text, candidates, undefined, context);
    const labels = Float32Array.from(candidates, (c) => Math.max(0, judged.get(c.document.id) ?? 0));
    out.push({ query, candidates, features, labels });
    onQuery?.(out.length, queries.length);
  }
  return out;
}

/** Stacks prepared queries into the learner's input, with the base margin per row. */
export function toRankingData(prepared: readonly PreparedQuery[], featureNames: readonly string[], baseMargin: LearnedModel["baseMargin"]): RankingData {
  const F = featureNames.length;
  const rows = prepared.reduce((n, p) => n + p.candidates.length, 0);
  const features = new Float64Array(rows * F);
  const labels = new Float32Array(rows);
  const queryOffsets = new Int32Array(prepared.length + 1);
  let at = 0;
  prepared.forEach((p, q) => {
    features.set(p.features, at * F);
    labels.set(p.labels, at);
    at += p.candidates.length;
    queryOffsets[q + 1] = at;
  });
  const data: RankingData = { featureCount: F, features, labels, queryOffsets };
  if (prepared.some((p) => p.weight !== undefined && p.weight !== 1)) data.queryWeights = Float32Array.from(prepared, (p) => p.weight ?? 1);
  if (baseMargin) {
    const col = featureNames.indexOf(baseMargin.feature);
    data.baseMargin = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = features[i * F + col];
      data.baseMargin[i] = Number.isFinite(v) ? v * baseMargin.scale : 0;
    }
  }
  return data;
}

/** Deterministic split of queries into k folds (seeded shuffle), for CV and validation holdouts. */
export function foldsOf<T>(items: readonly T[], k: number, seed: number): T[][] {
  const order = items.map((_, i) => i);
  const random = seededRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const folds: T[][] = Array.from({ length: k }, () => []);
  order.forEach((idx, pos) => folds[pos % k].push(items[idx]));
  return folds;
}

export interface TrainModelOptions {
  features: readonly string[];
  baseMargin: LearnedModel["baseMargin"];
  params?: Partial<LambdaMartParams>;
  /** Held-out queries for early stopping. */
  validation?: readonly PreparedQuery[];
  /** Keep the base margin's raw feature out of the trees (it varies in scale across collections). */
  marginOnly?: boolean;
  /**
   * Monotone constraints by feature name (+1: the trees' output never decreases as the
   * feature grows, −1: never increases): a guard on first-stage evidence, so no tree can
   * learn "a better BM25 rank is worse" from one collection's quirks.
   */
  monotone?: Readonly<Record<string, 1 | -1>>;
  /**
   * Warm start: continue from this model (same features and margin) — its scores become the
   * starting scores and the new trees are appended to its trees. For adapting the shipped
   * model to a collection with few judgments (or LLM labels) instead of starting from BM25.
   */
  initModel?: LearnedModel;
  onProgress?: (p: TrainingProgress) => void;
  /** Recorded in the model's `training` block. */
  provenance?: Record<string, unknown>;
}

export interface TrainedModel {
  model: LearnedModel;
  /** Gain-based importance, normalized to sum 1, sorted descending. */
  importance: Array<{ feature: string; gain: number }>;
  validHistory: number[];
  trainHistory: number[];
}

export function trainModel(train: readonly PreparedQuery[], options: TrainModelOptions): TrainedModel {
  const params = { ...DEFAULT_LAMBDAMART_PARAMS, ...options.params };
  const init = options.initModel;
  if (init) {
    const same = init.features.length === options.features.length && init.features.every((f, i) => f === options.features[i]);
    if (!same || JSON.stringify(init.baseMargin) !== JSON.stringify(options.baseMargin)) {
      throw new InvalidInputError(`the initial model reads features [${init.features.join(", ")}] with margin ${JSON.stringify(init.baseMargin)}; training uses [${options.features.join(", ")}] with ${JSON.stringify(options.baseMargin)}: they must match`, {
        field: "initModel",
      });
    }
  }
  const withInit = (d: RankingData, prepared: readonly PreparedQuery[]): RankingData => {
    if (!init) return d;
    const base = new Float64Array(d.labels.length);
    let at = 0;
    for (const p of prepared) {
      base.set(scoreRows(init, p.features), at);
      at += p.candidates.length;
    }
    return { ...d, baseMargin: base };
  };
  const data = withInit(toRankingData(train, options.features, options.baseMargin), train);
  const validation = options.validation?.length ? withInit(toRankingData(options.validation, options.features, options.baseMargin), options.validation) : undefined;
  const excluded = options.marginOnly && options.baseMargin ? [options.features.indexOf(options.baseMargin.feature)] : [];
  const monotone = new Map<number, 1 | -1>();
  for (const [name, direction] of Object.entries(options.monotone ?? {})) {
    const f = options.features.indexOf(name);
    if (f < 0) throw new InvalidInputError(`monotone: "${name}" is not one of the features (${options.features.join(", ")})`, { field: "monotone" });
    if (direction !== 1 && direction !== -1) throw new InvalidInputError(`monotone.${name} must be 1 or -1, got ${String(direction)}`, { field: `monotone.${name}` });
    monotone.set(f, direction);
  }
  const result = trainLambdaMart(data, params, { validation, onProgress: options.onProgress, excludeFromSplits: excluded, monotone });
  const total = result.featureGain.reduce((a, b) => a + b, 0);
  const importance = options.features
    .map((feature, f) => ({ feature, gain: total > 0 ? result.featureGain[f] / total : 0 }))
    .sort((a, b) => b.gain - a.gain);
  const model: LearnedModel = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    featureSetVersion: FEATURE_SET_VERSION,
    features: [...options.features],
    baseMargin: options.baseMargin,
    trees: init ? [...init.trees, ...result.trees] : result.trees,
    training: {
      ...options.provenance,
      params,
      marginOnly: options.marginOnly ?? false,
      monotone: options.monotone && Object.keys(options.monotone).length > 0 ? { ...options.monotone } : undefined,
      initModelTrees: init ? init.trees.length : undefined,
      trainQueries: train.length,
      validationQueries: options.validation?.length ?? 0,
      bestIteration: result.bestIteration,
      validationNdcgAt10: result.validHistory.length ? result.validHistory[result.bestIteration] : undefined,
      importance: Object.fromEntries(importance.map((i) => [i.feature, Number(i.gain.toFixed(4))])),
    },
  };
  return { model, importance, validHistory: result.validHistory, trainHistory: result.trainHistory };
}

export interface RunPair {
  firstStage: Map<string, RunEntry[]>;
  reranked: Map<string, RunEntry[]>;
}

/**
 * The first-stage run and the model's reranking of it, for the given queries. Runs carry
 * the real scores, so evaluation orders them exactly as `winnow eval` does (trec_eval:
 * score, then id).
 */
export function runsFor(model: LearnedModel, prepared: readonly PreparedQuery[]): RunPair {
  const firstStage = new Map<string, RunEntry[]>();
  const reranked = new Map<string, RunEntry[]>();
  for (const p of prepared) {
    const qid = p.query.id ?? "";
    firstStage.set(qid, p.candidates.map((c) => ({ docId: c.document.id, score: c.score })));
    const scores = scoreRows(model, p.features);
    reranked.set(qid, p.candidates.map((c, i) => ({ docId: c.document.id, score: scores[i] })));
  }
  return { firstStage, reranked };
}

/**
 * The judgments of just these queries. Evaluation averages over every query of its qrels
 * (trec_eval -c), so scoring held-out queries against the whole split's qrels would
 * count every other query as a 0-vs-0 tie and shrink the means toward 0.
 */
export function qrelsFor(prepared: readonly PreparedQuery[], qrels: Qrels): Qrels {
  return new Map(prepared.map((p) => [p.query.id ?? "", qrels.get(p.query.id ?? "") ?? new Map()]));
}

export interface LiftSummary {
  metrics: string[];
  firstStage: Record<string, number>;
  reranked: Record<string, number>;
  wins: number;
  ties: number;
  losses: number;
  queries: number;
  perQuery: Map<string, { firstStage: number; reranked: number }>;
}

/** Evaluates both runs over the given qrels (trec_eval semantics) and counts per-query wins on the first metric. */
export function liftOf(qrels: Qrels, runs: RunPair, metrics: readonly string[] = ["ndcg_cut_10", "recall_100", "recip_rank", "map"]): LiftSummary {
  const a = evaluateRun(qrels, runs.firstStage, metrics);
  const b = evaluateRun(qrels, runs.reranked, metrics);
  const key = metrics[0];
  let wins = 0;
  let ties = 0;
  let losses = 0;
  const perQuery = new Map<string, { firstStage: number; reranked: number }>();
  for (const [qid, m] of a.perQuery) {
    const x = m[key] ?? 0;
    const y = b.perQuery.get(qid)?.[key] ?? 0;
    perQuery.set(qid, { firstStage: x, reranked: y });
    if (Math.abs(y - x) < 1e-9) ties++;
    else if (y > x) wins++;
    else losses++;
  }
  return { metrics: [...metrics], firstStage: a.metrics, reranked: b.metrics, wins, ties, losses, queries: a.numQueries, perQuery };
}

/** Where a fold's model starts: BM25 order (scratch), or the initial model's scores (warm). */
export type CvStart = "scratch" | "warm";

/**
 * What nested selection chose for one outer fold, from the inner cross-validation over its
 * training queries only. `start: "scratch", trees: 0` keeps the BM25 order; `start: "warm",
 * trees: 0` is the initial (e.g. shipped) model unchanged.
 */
export interface FoldChoice {
  start: CvStart;
  trees: number;
  /** Mean inner-validation nDCG@k of the chosen (start, trees). */
  innerNdcg: number;
  /** Mean inner-validation nDCG@k of the BM25 order, for comparison. */
  innerBm25: number;
}

export interface FoldResult {
  fold: number;
  trainQueries: number;
  testQueries: number;
  firstStage: number;
  reranked: number;
  /** New trees in the fold's model (not counting a warm start's own trees). */
  trees: number;
  /** Nested selection only. */
  choice?: FoldChoice;
}

export interface CrossValidationResult {
  folds: FoldResult[];
  /** Metric over all queries, each scored by the model of the fold that held it out. */
  firstStage: number;
  reranked: number;
  /** Per-query comparison of the pooled held-out run with BM25 on the metric. */
  wins: number;
  ties: number;
  losses: number;
  /** Two-sided paired randomization test (10,000 trials, seeded) on the per-query differences. */
  pValue: number;
  importance: Array<{ feature: string; gain: number }>;
}

/**
 * k-fold cross-validation by query: each fold's model is trained on the other folds (with
 * `validateFraction` of them held out for early stopping) and scored on its own queries.
 */
export function crossValidate(
  prepared: readonly PreparedQuery[],
  qrels: Qrels,
  k: number,
  options: Omit<TrainModelOptions, "validation" | "onProgress"> & {
    validateFraction?: number;
    seed?: number;
    metric?: string;
    onFold?: (f: FoldResult) => void;
    /**
     * Nested selection (see selectByInnerCv): each outer fold chooses its start and tree
     * count by an inner k-fold CV over its own training queries, then refits on all of them.
     * Without it, every fold trains the same way and early-stops on `validateFraction`.
     */
    nested?: { innerFolds: number };
  },
): CrossValidationResult {
  if (!Number.isInteger(k) || k < 2 || k > prepared.length) {
    throw new InvalidInputError(`cv must be an integer in 2..${prepared.length} (the number of judged queries), got ${k}`, { field: "cv" });
  }
  const metric = options.metric ?? "ndcg_cut_10";
  const seed = options.seed ?? 42;
  const folds = foldsOf(prepared, k, seed);
  const allFirst = new Map<string, RunEntry[]>();
  const allReranked = new Map<string, RunEntry[]>();
  const gain = new Map<string, number>();
  const results: FoldResult[] = [];
  folds.forEach((test, f) => {
    const rest = folds.filter((_, g) => g !== f).flat();
    let train = rest;
    let trained: TrainedModel;
    let choice: FoldChoice | undefined;
    if (options.nested) {
      const selected = selectByInnerCv(rest, { ...options, innerFolds: options.nested.innerFolds, seed: seed + f + 1 });
      choice = selected.choice;
      trained = selected.trained;
    } else {
      let validation: PreparedQuery[] | undefined;
      const vf = options.validateFraction ?? 0;
      if (vf > 0) {
        const inner = foldsOf(rest, Math.max(2, Math.round(1 / vf)), seed + f + 1);
        validation = inner[0];
        train = inner.slice(1).flat();
      }
      trained = trainModel(train, { ...options, validation });
    }
    for (const i of trained.importance) gain.set(i.feature, (gain.get(i.feature) ?? 0) + i.gain / k);
    const runs = runsFor(trained.model, test);
    const lift = liftOf(qrelsFor(test, qrels), runs, [metric]);
    for (const [q, e] of runs.firstStage) allFirst.set(q, e);
    for (const [q, e] of runs.reranked) allReranked.set(q, e);
    const r: FoldResult = {
      fold: f + 1,
      trainQueries: train.length,
      testQueries: test.length,
      firstStage: lift.firstStage[metric],
      reranked: lift.reranked[metric],
      trees: trained.model.trees.length - (options.initModel && (!choice || choice.start === "warm") ? options.initModel.trees.length : 0),
      choice,
    };
    results.push(r);
    options.onFold?.(r);
  });
  const total = liftOf(qrelsFor(prepared, qrels), { firstStage: allFirst, reranked: allReranked }, [metric]);
  return {
    folds: results,
    firstStage: total.firstStage[metric],
    reranked: total.reranked[metric],
    wins: total.wins,
    ties: total.ties,
    losses: total.losses,
    pValue: pairedRandomizationTest([...total.perQuery.values()].map((q) => q.reranked - q.firstStage)),
    importance: [...gain].map(([feature, g]) => ({ feature, gain: g })).sort((a, b) => b.gain - a.gain),
  };
}

export interface InnerSelectionOptions extends Omit<TrainModelOptions, "validation" | "onProgress" | "initModel"> {
  /** The warm-start candidate (e.g. the shipped model); without it only BM25 and scratch compete. */
  initModel?: LearnedModel;
  innerFolds: number;
  seed: number;
}

/**
 * Chooses how to train on `train` using only `train`: an inner k-fold CV scores, for each
 * start (from BM25 = scratch, or warm from `initModel`) and every tree count 0..trees, the
 * mean inner-validation nDCG@k; the best (start, trees) wins, ties going to the simpler
 * choice (BM25 order, then the initial model unchanged, then fewer trees). The winner is
 * then refit on all of `train` with that fixed tree count. Keeping the BM25 order when no
 * learned option beats it on inner validation is the "must not hurt" safeguard: zero trees
 * from scratch reproduce the first stage exactly.
 */
export function selectByInnerCv(train: readonly PreparedQuery[], options: InnerSelectionOptions): { choice: FoldChoice; trained: TrainedModel } {
  const params = { ...DEFAULT_LAMBDAMART_PARAMS, ...options.params, earlyStoppingRounds: 0 };
  const innerK = Math.min(options.innerFolds, train.length);
  if (!Number.isInteger(innerK) || innerK < 2) {
    throw new InvalidInputError(`inner folds must be an integer >= 2 and at most the training queries (${train.length}), got ${options.innerFolds}`, { field: "innerFolds" });
  }
  const starts: CvStart[] = options.initModel ? ["scratch", "warm"] : ["scratch"];
  const inner = foldsOf(train, innerK, options.seed);
  const curves = new Map<CvStart, Float64Array>();
  for (const start of starts) {
    const curve = new Float64Array(params.trees + 1);
    inner.forEach((valid, j) => {
      const fit = inner.filter((_, g) => g !== j).flat();
      const t = trainModel(fit, { ...options, initModel: start === "warm" ? options.initModel : undefined, validation: valid, params });
      // A learner that stopped early (no rows with gradients left) stays at its last score.
      for (let i = 0; i <= params.trees; i++) curve[i] += (t.validHistory[Math.min(i, t.validHistory.length - 1)] ?? 0) / innerK;
    });
    curves.set(start, curve);
  }
  const bm25 = curves.get("scratch")![0];
  let best: FoldChoice = { start: "scratch", trees: 0, innerNdcg: bm25, innerBm25: bm25 };
  const consider = (start: CvStart, trees: number) => {
    const v = curves.get(start)![trees];
    if (v > best.innerNdcg + 1e-9) best = { start, trees, innerNdcg: v, innerBm25: bm25 };
  };
  if (curves.has("warm")) consider("warm", 0);
  for (let t = 1; t <= params.trees; t++) for (const start of starts) consider(start, t);

  const init = best.start === "warm" ? options.initModel : undefined;
  let trained: TrainedModel;
  if (best.trees === 0) {
    // No new trees: the BM25 order (margin only) or the initial model unchanged.
    const model: LearnedModel = {
      format: MODEL_FORMAT,
      version: MODEL_FORMAT_VERSION,
      featureSetVersion: FEATURE_SET_VERSION,
      features: [...options.features],
      baseMargin: options.baseMargin,
      trees: init ? [...init.trees] : [],
      training: { ...options.provenance, params, marginOnly: options.marginOnly ?? false, initModelTrees: init?.trees.length, trainQueries: train.length, bestIteration: 0 },
    };
    trained = { model, importance: options.features.map((feature) => ({ feature, gain: 0 })), validHistory: [], trainHistory: [] };
  } else {
    trained = trainModel(train, { ...options, initModel: init, params: { ...params, trees: best.trees } });
  }
  return { choice: best, trained };
}
