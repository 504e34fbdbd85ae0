import { WinnowError } from "../../core/errors.js";

/**
 * A regression tree as flat arrays, the form LambdaMART trains, saves and scores with.
 * Internal node n tests `x[feature[n]] <= threshold[n]` (a missing value, NaN, goes
 * left: training puts missing values in the lowest bin). `left[n]`/`right[n]` point at
 * another internal node (>= 0) or at leaf `~child` (< 0).
 */
export interface RegressionTree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  leafValue: number[];
}

/** The tree's output for the feature vector starting at `offset` in `x` (a row of a row-major matrix). */
export function predictTree(tree: RegressionTree, x: ArrayLike<number>, offset = 0): number {
  if (tree.feature.length === 0) return tree.leafValue[0] ?? 0;
  let node = 0;
  for (;;) {
    const v = x[offset + tree.feature[node]];
    // `!(v > t)` sends NaN left, matching training's missing-value bin.
    const next = !(v > tree.threshold[node]) ? tree.left[node] : tree.right[node];
    if (next < 0) return tree.leafValue[~next];
    node = next;
  }
}

/** Checks a tree read from a model file, so a corrupt file fails at load, not mid-rerank. */
export function validateTree(tree: unknown, featureCount: number, where: string): RegressionTree {
  const fail = (why: string): never => {
    throw new WinnowError("MODEL_LOAD_FAILED", `${where}: ${why}`, { details: { field: where } });
  };
  if (tree === null || typeof tree !== "object") fail("expected an object");
  const t = tree as Record<string, unknown>;
  const arrays = ["feature", "threshold", "left", "right", "leafValue"] as const;
  for (const k of arrays) {
    if (!Array.isArray(t[k]) || !(t[k] as unknown[]).every((v) => typeof v === "number")) fail(`${k} must be an array of numbers`);
  }
  const rt = t as unknown as RegressionTree;
  const internal = rt.feature.length;
  if (rt.threshold.length !== internal || rt.left.length !== internal || rt.right.length !== internal) {
    fail("feature, threshold, left and right must have the same length");
  }
  if (rt.leafValue.length !== internal + 1) fail(`expected ${internal + 1} leaf values for ${internal} splits, got ${rt.leafValue.length}`);
  for (let n = 0; n < internal; n++) {
    if (!Number.isInteger(rt.feature[n]) || rt.feature[n] < 0 || rt.feature[n] >= featureCount) {
      fail(`feature[${n}] = ${rt.feature[n]} is outside 0..${featureCount - 1}`);
    }
    for (const child of [rt.left[n], rt.right[n]]) {
      // Children must point forward (or at a leaf) so prediction always terminates.
      if (!Number.isInteger(child) || (child >= 0 && (child <= n || child >= internal)) || (child < 0 && ~child > internal)) {
        fail(`node ${n} has an invalid child ${child}`);
      }
    }
  }
  return rt;
}
