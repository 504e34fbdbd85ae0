/**
 * LambdaMART: gradient-boosted regression trees fitted to LambdaRank gradients for nDCG.
 *
 * Written here rather than taken from npm: the only JS candidates (`ml-xgboost`, a 2019
 * WebAssembly build of XGBoost 0.x) expose regression/classification objectives only,
 * no ranking objective with query groups and no base margin, and pull in a 1 MB wasm
 * blob; nothing else on the registry implements LambdaMART. The learner is small and is
 * the product's own core (the shipped default model comes out of it).
 *
 * Design, after LightGBM's lambdarank: features are pre-binned (<= 255 quantile bins,
 * Uint8Array); trees grow leaf-wise (best gain first) to `maxLeaves`, using per-leaf
 * gradient/hessian histograms with the subtraction trick; leaf values are Newton steps
 * (-G / (H + l2)) times the learning rate. Scores can start from a base margin (e.g. the
 * BM25 score), so the trees learn a correction to the first stage rather than a ranking
 * from scratch — which keeps a regularized model close to BM25 where it has nothing to add.
 */
import { InvalidInputError } from "../../core/errors.js";
import { binFeatures } from "./feature-binning.js";
import { predictTree, type RegressionTree } from "./regression-tree.js";
import { seededRandom } from "../../core/seeded-random.js";

/** Rows of (query, document) feature vectors, grouped by query. */
export interface RankingData {
  featureCount: number;
  /** Row-major: features[row * featureCount + f]. NaN = missing. */
  features: Float64Array;
  /** Graded relevance per row (0 = not relevant). */
  labels: Float32Array;
  /** Query q owns rows queryOffsets[q] .. queryOffsets[q+1]-1. Length = queries + 1. */
  queryOffsets: Int32Array;
  /** Starting score per row (before any tree); zeros when absent. */
  baseMargin?: Float64Array;
  /**
   * Weight of each query's gradients (length = queries; 1 when absent), e.g. to give each
   * collection of a pooled training set its share instead of one collection dominating.
   */
  queryWeights?: Float32Array;
}

export interface LambdaMartParams {
  /** Most trees to fit. */
  trees: number;
  /** Shrinkage applied to every leaf value. */
  learningRate: number;
  /** Leaves per tree (leaf-wise growth). */
  maxLeaves: number;
  /** Fewest training rows in a leaf. */
  minSamplesPerLeaf: number;
  /** Fraction of features each tree may split on (sampled per tree with `seed`). */
  featureFraction: number;
  /** L2 penalty on leaf values (added to the hessian sum). */
  l2: number;
  /** Cut-off k of the nDCG@k that early stopping watches. */
  ndcgAt: number;
  /** Only pairs with one document in the current top `truncation` get gradients. */
  truncation: number;
  /** Stop after this many trees without a better validation nDCG (0 = never). */
  earlyStoppingRounds: number;
  /** Steepness of the pairwise logistic loss. */
  sigma: number;
  maxBins: number;
  seed: number;
}

/**
 * Defaults = the first-round configuration chosen by 5-fold CV on SciFact train
 * (models/README.md): up to 150 trees; with a validation split the best iteration is kept
 * (no patience cut-off unless earlyStoppingRounds is set). The shipped model itself uses
 * 200 rows per leaf (second round, 809 queries); 50 stays the default here because the
 * collections people cross-validate on are often 30–300 queries, where 200 rows per leaf
 * leaves the trees almost nothing to split.
 */
export const DEFAULT_LAMBDAMART_PARAMS: LambdaMartParams = {
  trees: 150,
  learningRate: 0.05,
  maxLeaves: 8,
  minSamplesPerLeaf: 50,
  featureFraction: 0.8,
  l2: 1,
  ndcgAt: 10,
  truncation: 20,
  earlyStoppingRounds: 0,
  sigma: 1,
  maxBins: 255,
  seed: 42,
};

export interface TrainingProgress {
  tree: number;
  trees: number;
  trainNdcg: number;
  validNdcg?: number;
}

export interface LambdaMartModel {
  trees: RegressionTree[];
  /** 1-based count of trees kept (the best validation iteration, or all). */
  bestIteration: number;
  /** nDCG@k per iteration (index 0 = base margin only). */
  trainHistory: number[];
  validHistory: number[];
  /** Total split gain per feature over the kept trees. */
  featureGain: Float64Array;
}

export interface TrainOptions {
  validation?: RankingData;
  /** Feature columns no tree may split on (e.g. a raw score used only as the base margin). */
  excludeFromSplits?: readonly number[];
  /**
   * Monotone constraints by feature column: +1 = every tree's output is non-decreasing in
   * that feature, −1 = non-increasing (missing values, the lowest bin, count as lowest).
   * A split on such a feature is taken only when its two children respect the direction,
   * and each child's subtree is then bounded by their midpoint (LightGBM's "basic"
   * method), so the whole tree, not only that split, is monotone.
   */
  monotone?: ReadonlyMap<number, 1 | -1>;
  onProgress?: (p: TrainingProgress) => void;
}


const gainOf = (label: number): number => Math.pow(2, label) - 1;
const discountAt = (pos: number): number => 1 / Math.log2(pos + 2);

/** Row indices of one query sorted by score, descending; ties keep row order. */
function orderByScore(scores: ArrayLike<number>, start: number, end: number): Int32Array {
  const order = new Int32Array(end - start);
  for (let i = 0; i < order.length; i++) order[i] = start + i;
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order;
}

function idealDcg(labels: Float32Array, start: number, end: number, k: number): number {
  const sorted = Array.from(labels.subarray(start, end)).sort((a, b) => b - a);
  let dcg = 0;
  for (let i = 0; i < Math.min(k, sorted.length); i++) dcg += gainOf(sorted[i]) * discountAt(i);
  return dcg;
}

/**
 * Mean nDCG@k over the queries that have at least one relevant row, with the ideal taken
 * over the rows given (the candidates): a training/early-stopping signal, not the
 * reported metric (that comes from the evaluation module over the full qrels).
 */
export function meanNdcg(data: RankingData, scores: ArrayLike<number>, k: number): number {
  let sum = 0;
  let counted = 0;
  const q = data.queryOffsets.length - 1;
  for (let qi = 0; qi < q; qi++) {
    const start = data.queryOffsets[qi];
    const end = data.queryOffsets[qi + 1];
    const ideal = idealDcg(data.labels, start, end, k);
    if (ideal <= 0) continue;
    const order = orderByScore(scores, start, end);
    let dcg = 0;
    for (let i = 0; i < Math.min(k, order.length); i++) dcg += gainOf(data.labels[order[i]]) * discountAt(i);
    sum += dcg / ideal;
    counted++;
  }
  return counted === 0 ? 0 : sum / counted;
}

/** Scores every row of `data` with base margin + trees. */
export function predictRows(data: RankingData, trees: readonly RegressionTree[]): Float64Array {
  const rows = data.labels.length;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = data.baseMargin ? data.baseMargin[i] : 0;
    for (const t of trees) s += predictTree(t, data.features, i * data.featureCount);
    out[i] = s;
  }
  return out;
}

export function validateRankingData(data: RankingData, name: string): void {
  const rows = data.labels.length;
  if (!Number.isInteger(data.featureCount) || data.featureCount < 1) {
    throw new InvalidInputError(`${name}.featureCount must be a positive integer`, { field: `${name}.featureCount` });
  }
  if (data.features.length !== rows * data.featureCount) {
    throw new InvalidInputError(`${name}.features has ${data.features.length} values, expected rows × featureCount = ${rows * data.featureCount}`, {
      field: `${name}.features`,
    });
  }
  const qo = data.queryOffsets;
  if (qo.length < 1 || qo[0] !== 0 || qo[qo.length - 1] !== rows) {
    throw new InvalidInputError(`${name}.queryOffsets must start at 0 and end at the row count ${rows}`, { field: `${name}.queryOffsets` });
  }
  for (let i = 1; i < qo.length; i++) {
    if (qo[i] < qo[i - 1]) throw new InvalidInputError(`${name}.queryOffsets must be non-decreasing (index ${i})`, { field: `${name}.queryOffsets` });
  }
  if (data.queryWeights) {
    const w = data.queryWeights;
    if (w.length !== qo.length - 1) throw new InvalidInputError(`${name}.queryWeights must have one value per query (${qo.length - 1})`, { field: `${name}.queryWeights` });
    for (let i = 0; i < w.length; i++) {
      if (!(w[i] >= 0) || !Number.isFinite(w[i])) throw new InvalidInputError(`${name}.queryWeights[${i}] must be a finite number >= 0, got ${w[i]}`, { field: `${name}.queryWeights` });
    }
  }
  if (data.baseMargin && data.baseMargin.length !== rows) {
    throw new InvalidInputError(`${name}.baseMargin must have one value per row (${rows})`, { field: `${name}.baseMargin` });
  }
}

function validateParams(p: LambdaMartParams): void {
  const check = (field: keyof LambdaMartParams, ok: boolean, limit: string) => {
    if (!ok) throw new InvalidInputError(`${field} must be ${limit}, got ${String(p[field])}`, { field, limit });
  };
  check("trees", Number.isInteger(p.trees) && p.trees >= 1 && p.trees <= 100_000, "an integer in 1..100000");
  check("learningRate", p.learningRate > 0 && p.learningRate <= 1, "in (0, 1]");
  check("maxLeaves", Number.isInteger(p.maxLeaves) && p.maxLeaves >= 2 && p.maxLeaves <= 1024, "an integer in 2..1024");
  check("minSamplesPerLeaf", Number.isInteger(p.minSamplesPerLeaf) && p.minSamplesPerLeaf >= 1, "a positive integer");
  check("featureFraction", p.featureFraction > 0 && p.featureFraction <= 1, "in (0, 1]");
  check("l2", p.l2 >= 0 && Number.isFinite(p.l2), "a finite number >= 0");
  check("ndcgAt", Number.isInteger(p.ndcgAt) && p.ndcgAt >= 1, "a positive integer");
  check("truncation", Number.isInteger(p.truncation) && p.truncation >= 1, "a positive integer");
  check("earlyStoppingRounds", Number.isInteger(p.earlyStoppingRounds) && p.earlyStoppingRounds >= 0, "an integer >= 0");
  check("sigma", p.sigma > 0 && Number.isFinite(p.sigma), "a positive number");
  check("maxBins", Number.isInteger(p.maxBins) && p.maxBins >= 2 && p.maxBins <= 256, "an integer in 2..256");
  check("seed", Number.isInteger(p.seed), "an integer");
}

/**
 * LambdaRank gradients (g = dLoss/ds) and hessians for every row, from the current
 * scores: each mis-orderable pair (different labels, one in the top `truncation`)
 * contributes sigma·rho·|ΔnDCG| where ΔnDCG is the change from swapping the two.
 */
function computeLambdas(
  data: RankingData,
  scores: Float64Array,
  inverseIdeal: Float64Array,
  params: LambdaMartParams,
  grad: Float64Array,
  hess: Float64Array,
): void {
  grad.fill(0);
  hess.fill(0);
  const { labels, queryOffsets } = data;
  const sigma = params.sigma;
  for (let q = 0; q < queryOffsets.length - 1; q++) {
    const inv = inverseIdeal[q];
    if (inv === 0) continue;
    const start = queryOffsets[q];
    const end = queryOffsets[q + 1];
    const order = orderByScore(scores, start, end);
    const n = order.length;
    const top = Math.min(params.truncation, n);
    for (let i = 0; i < top; i++) {
      const ri = order[i];
      const li = labels[ri];
      for (let j = i + 1; j < n; j++) {
        const rj = order[j];
        const lj = labels[rj];
        if (li === lj) continue;
        const hi = li > lj ? ri : rj;
        const lo = li > lj ? rj : ri;
        const delta = Math.abs(gainOf(li) - gainOf(lj)) * Math.abs(discountAt(i) - discountAt(j)) * inv;
        const rho = 1 / (1 + Math.exp(sigma * (scores[hi] - scores[lo])));
        const lambda = sigma * rho * delta;
        const h = sigma * sigma * rho * (1 - rho) * delta;
        grad[hi] -= lambda;
        grad[lo] += lambda;
        hess[hi] += h;
        hess[lo] += h;
      }
    }
  }
}

interface Leaf {
  rows: Int32Array;
  g: number;
  h: number;
  /** Histogram over the tree's sampled features: [(k * bins + b) * 3 + {0: g, 1: h, 2: count}]. */
  hist: Float64Array;
  /** Where the parent points at this leaf: node index and side, or -1 for the root. */
  parent: number;
  side: "left" | "right";
  /** Bounds on this leaf's value (and its subtree's) from monotone splits above it. */
  lo: number;
  hi: number;
  best?: { gain: number; featureSlot: number; bin: number; leftValue: number; rightValue: number };
}

/** Fits one regression tree to (grad, hess) over `rows`, growing best-gain leaves first. */
function growTree(
  rows: Int32Array,
  grad: Float64Array,
  hess: Float64Array,
  binned: ReturnType<typeof binFeatures>,
  features: number[],
  params: LambdaMartParams,
  featureGain: Float64Array,
  monotone?: ReadonlyMap<number, 1 | -1>,
): RegressionTree {
  const B = params.maxBins;
  const nRows = binned.rows;
  const buildHist = (subset: Int32Array): Float64Array => {
    const hist = new Float64Array(features.length * B * 3);
    for (let k = 0; k < features.length; k++) {
      const col = features[k] * nRows;
      const base = k * B * 3;
      for (let r = 0; r < subset.length; r++) {
        const i = subset[r];
        const at = base + binned.bins[col + i] * 3;
        hist[at] += grad[i];
        hist[at + 1] += hess[i];
        hist[at + 2] += 1;
      }
    }
    return hist;
  };
  const score = (g: number, h: number) => (g * g) / (h + params.l2);
  // Newton step clamped to the leaf's bounds, and the loss reduction it buys (= score(g, h) unclamped).
  const valueIn = (g: number, h: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, -g / (h + params.l2)));
  const scoreAt = (g: number, h: number, w: number) => -(2 * g * w + (h + params.l2) * w * w);
  const constrained = monotone !== undefined && monotone.size > 0;
  const findBest = (leaf: Leaf): void => {
    leaf.best = undefined;
    if (leaf.rows.length < 2 * params.minSamplesPerLeaf) return;
    const parentScore = constrained ? scoreAt(leaf.g, leaf.h, valueIn(leaf.g, leaf.h, leaf.lo, leaf.hi)) : score(leaf.g, leaf.h);
    let best: Leaf["best"];
    for (let k = 0; k < features.length; k++) {
      const base = k * B * 3;
      let gl = 0;
      let hl = 0;
      let cl = 0;
      const bins = binned.upperBounds[features[k]].length + 1;
      for (let b = 0; b < bins - 1; b++) {
        const at = base + b * 3;
        gl += leaf.hist[at];
        hl += leaf.hist[at + 1];
        cl += leaf.hist[at + 2];
        if (cl < params.minSamplesPerLeaf) continue;
        const cr = leaf.rows.length - cl;
        if (cr < params.minSamplesPerLeaf) break;
        if (!constrained) {
          const gain = score(gl, hl) + score(leaf.g - gl, leaf.h - hl) - parentScore;
          if (gain > 1e-12 && (best === undefined || gain > best.gain)) best = { gain, featureSlot: k, bin: b, leftValue: 0, rightValue: 0 };
          continue;
        }
        const lv = valueIn(gl, hl, leaf.lo, leaf.hi);
        const rv = valueIn(leaf.g - gl, leaf.h - hl, leaf.lo, leaf.hi);
        const direction = monotone!.get(features[k]);
        if ((direction === 1 && lv > rv) || (direction === -1 && lv < rv)) continue;
        const gain = scoreAt(gl, hl, lv) + scoreAt(leaf.g - gl, leaf.h - hl, rv) - parentScore;
        if (gain > 1e-12 && (best === undefined || gain > best.gain)) best = { gain, featureSlot: k, bin: b, leftValue: lv, rightValue: rv };
      }
    }
    leaf.best = best;
  };

  const tree: RegressionTree = { feature: [], threshold: [], left: [], right: [], leafValue: [] };
  let g0 = 0;
  let h0 = 0;
  for (let r = 0; r < rows.length; r++) {
    g0 += grad[rows[r]];
    h0 += hess[rows[r]];
  }
  const root: Leaf = { rows, g: g0, h: h0, hist: buildHist(rows), parent: -1, side: "left", lo: -Infinity, hi: Infinity };
  findBest(root);
  const leaves: Leaf[] = [root];
  while (leaves.length < params.maxLeaves) {
    let pick = -1;
    for (let l = 0; l < leaves.length; l++) {
      const b = leaves[l].best;
      if (b && (pick < 0 || b.gain > leaves[pick].best!.gain)) pick = l;
    }
    if (pick < 0) break;
    const leaf = leaves[pick];
    const { featureSlot, bin, gain, leftValue, rightValue } = leaf.best!;
    const f = features[featureSlot];
    // Below a monotone split, the left subtree stays on its side of the midpoint and the right on the other.
    const direction = monotone?.get(f);
    const mid = (leftValue + rightValue) / 2;
    const leftBounds = direction === 1 ? [leaf.lo, mid] : direction === -1 ? [mid, leaf.hi] : [leaf.lo, leaf.hi];
    const rightBounds = direction === 1 ? [mid, leaf.hi] : direction === -1 ? [leaf.lo, mid] : [leaf.lo, leaf.hi];
    featureGain[f] += gain;
    const col = f * nRows;
    let nLeft = 0;
    for (let r = 0; r < leaf.rows.length; r++) if (binned.bins[col + leaf.rows[r]] <= bin) nLeft++;
    const leftRows = new Int32Array(nLeft);
    const rightRows = new Int32Array(leaf.rows.length - nLeft);
    let gl = 0;
    let hl = 0;
    for (let r = 0, a = 0, c = 0; r < leaf.rows.length; r++) {
      const i = leaf.rows[r];
      if (binned.bins[col + i] <= bin) {
        leftRows[a++] = i;
        gl += grad[i];
        hl += hess[i];
      } else rightRows[c++] = i;
    }
    const node = tree.feature.length;
    tree.feature.push(f);
    // Bin 0 holds only missing values: "missing left, all present values right".
    tree.threshold.push(bin === 0 ? -Number.MAX_VALUE : binned.upperBounds[f][bin - 1]);
    tree.left.push(0);
    tree.right.push(0);
    if (leaf.parent >= 0) (leaf.side === "left" ? tree.left : tree.right)[leaf.parent] = node;
    // Histogram subtraction: build the smaller child, derive the larger from the parent.
    const leftSmaller = leftRows.length <= rightRows.length;
    const smallHist = buildHist(leftSmaller ? leftRows : rightRows);
    const bigHist = leaf.hist;
    for (let x = 0; x < bigHist.length; x++) bigHist[x] -= smallHist[x];
    const left: Leaf = { rows: leftRows, g: gl, h: hl, hist: leftSmaller ? smallHist : bigHist, parent: node, side: "left", lo: leftBounds[0], hi: leftBounds[1] };
    const right: Leaf = { rows: rightRows, g: leaf.g - gl, h: leaf.h - hl, hist: leftSmaller ? bigHist : smallHist, parent: node, side: "right", lo: rightBounds[0], hi: rightBounds[1] };
    findBest(left);
    findBest(right);
    leaves.splice(pick, 1, left, right);
  }
  // Leaves become ~index children; leaf values are shrunken Newton steps.
  leaves.forEach((leaf, index) => {
    tree.leafValue.push((constrained ? valueIn(leaf.g, leaf.h, leaf.lo, leaf.hi) : -leaf.g / (leaf.h + params.l2)) * params.learningRate);
    if (leaf.parent >= 0) (leaf.side === "left" ? tree.left : tree.right)[leaf.parent] = ~index;
  });
  return tree;
}

export function trainLambdaMart(train: RankingData, paramsIn: Partial<LambdaMartParams> = {}, options: TrainOptions = {}): LambdaMartModel {
  const params: LambdaMartParams = { ...DEFAULT_LAMBDAMART_PARAMS, ...paramsIn };
  validateParams(params);
  validateRankingData(train, "train");
  if (options.validation) {
    validateRankingData(options.validation, "validation");
    if (options.validation.featureCount !== train.featureCount) {
      throw new InvalidInputError(`validation has ${options.validation.featureCount} features, train has ${train.featureCount}`, {
        field: "validation.featureCount",
      });
    }
  }
  const rows = train.labels.length;
  const F = train.featureCount;
  const queries = train.queryOffsets.length - 1;
  const binned = binFeatures(train.features, rows, F, params.maxBins);
  const random = seededRandom(params.seed);

  // Queries whose candidates all share one label give no gradient: leave their rows out.
  const inverseIdeal = new Float64Array(queries);
  const active: number[] = [];
  for (let q = 0; q < queries; q++) {
    const start = train.queryOffsets[q];
    const end = train.queryOffsets[q + 1];
    let mixed = false;
    for (let i = start + 1; i < end && !mixed; i++) if (train.labels[i] !== train.labels[start]) mixed = true;
    const ideal = idealDcg(train.labels, start, end, params.truncation);
    const weight = train.queryWeights ? train.queryWeights[q] : 1;
    if (!mixed || ideal <= 0 || !(weight > 0)) continue;
    // Scaling both gradient and hessian by the weight makes leaf values weighted means.
    inverseIdeal[q] = weight / ideal;
    for (let i = start; i < end; i++) active.push(i);
  }
  const activeRows = Int32Array.from(active);

  const trainScores = train.baseMargin ? Float64Array.from(train.baseMargin) : new Float64Array(rows);
  const valid = options.validation;
  const validScores = valid ? (valid.baseMargin ? Float64Array.from(valid.baseMargin) : new Float64Array(valid.labels.length)) : undefined;
  const grad = new Float64Array(rows);
  const hess = new Float64Array(rows);
  const trees: RegressionTree[] = [];
  const gainsPerTree: Float64Array[] = [];
  const trainHistory = [meanNdcg(train, trainScores, params.ndcgAt)];
  const validHistory = valid ? [meanNdcg(valid, validScores!, params.ndcgAt)] : [];
  let bestIteration = 0;
  let bestValid = validHistory[0] ?? -Infinity;
  const splittable = Array.from({ length: F }, (_, f) => f).filter((f) => !options.excludeFromSplits?.includes(f));
  if (splittable.length === 0) throw new InvalidInputError("every feature is excluded from splits", { field: "excludeFromSplits" });
  const sampledCount = Math.max(1, Math.round(params.featureFraction * splittable.length));

  for (let t = 0; t < params.trees; t++) {
    if (activeRows.length === 0) break;
    computeLambdas(train, trainScores, inverseIdeal, params, grad, hess);
    // Partial Fisher–Yates with the seeded PRNG: which features this tree may use.
    const pool = splittable.slice();
    for (let i = 0; i < sampledCount; i++) {
      const j = i + Math.floor(random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const sampled = pool.slice(0, sampledCount).sort((a, b) => a - b);
    const treeGain = new Float64Array(F);
    const tree = growTree(activeRows, grad, hess, binned, sampled, params, treeGain, options.monotone);
    trees.push(tree);
    gainsPerTree.push(treeGain);
    for (let r = 0; r < activeRows.length; r++) {
      const i = activeRows[r];
      trainScores[i] += predictTree(tree, train.features, i * F);
    }
    trainHistory.push(meanNdcg(train, trainScores, params.ndcgAt));
    let validNdcg: number | undefined;
    if (valid && validScores) {
      for (let i = 0; i < valid.labels.length; i++) validScores[i] += predictTree(tree, valid.features, i * F);
      validNdcg = meanNdcg(valid, validScores, params.ndcgAt);
      validHistory.push(validNdcg);
      if (validNdcg > bestValid + 1e-9) {
        bestValid = validNdcg;
        bestIteration = t + 1;
      }
    } else bestIteration = t + 1;
    options.onProgress?.({ tree: t + 1, trees: params.trees, trainNdcg: trainHistory[t + 1], validNdcg });
    if (valid && params.earlyStoppingRounds > 0 && t + 1 - bestIteration >= params.earlyStoppingRounds) break;
  }
  const kept = trees.slice(0, bestIteration);
  const featureGain = new Float64Array(F);
  for (let t = 0; t < bestIteration; t++) for (let f = 0; f < F; f++) featureGain[f] += gainsPerTree[t][f];
  return { trees: kept, bestIteration, trainHistory, validHistory, featureGain };
}
