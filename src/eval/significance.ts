import { InvalidInputError } from "../core/errors.js";
import { mulberry32 } from "../core/seeded-random.js";

/**
 * The defaults of every randomization test Winnow prints (`eval`, `metrics --baseline`,
 * `compare`, `train --cv`): one seed and one trial count, so the same runs give the same p.
 */
export const DEFAULT_RANDOMIZATION_SEED = 0x5eed;
export const DEFAULT_RANDOMIZATION_TRIALS = 10_000;

export interface RandomizationTestOptions {
  /** Random sign assignments drawn (default 10,000). */
  trials?: number;
  /** Default DEFAULT_RANDOMIZATION_SEED (0x5eed = 24301). */
  seed?: number;
}

/**
 * Two-sided paired randomization test on per-query differences (after − before), the
 * test Smucker, Allan & Carterette (CIKM 2007) recommend for IR: under the null
 * hypothesis each difference is equally likely to have either sign, so the p-value is
 * the share of random sign flips whose mean is at least as far from 0 as the observed
 * mean. Returns (hits + 1) / (trials + 1), never exactly 0; 1 when nothing changed.
 */
export function pairedRandomizationTest(differences: readonly number[], options: RandomizationTestOptions = {}): number {
  const trials = options.trials ?? DEFAULT_RANDOMIZATION_TRIALS;
  if (!Number.isInteger(trials) || trials < 1 || trials > 10_000_000) {
    throw new InvalidInputError(`trials must be an integer from 1 to 10000000, got ${String(trials)}`, { field: "trials" });
  }
  const n = differences.length;
  if (n === 0) return 1;
  let sum = 0;
  for (const d of differences) sum += d;
  const observed = Math.abs(sum);
  // Sums are compared, not means (same n); the slack absorbs float noise in equal sums.
  const slack = 1e-12 * Math.max(1, observed);
  if (observed <= slack) return 1;
  const next = mulberry32(options.seed ?? DEFAULT_RANDOMIZATION_SEED);
  let hits = 0;
  for (let t = 0; t < trials; t++) {
    let s = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 31) === 0) bits = next();
      s += (bits >>> (i & 31)) & 1 ? differences[i] : -differences[i];
    }
    if (Math.abs(s) >= observed - slack) hits++;
  }
  return (hits + 1) / (trials + 1);
}
