import { UsageError } from "./usage-error.js";

export interface NumberFlagRange {
  min: number;
  /** Inclusive; omit for no upper bound. */
  max?: number;
  /** Whole numbers only (default true). */
  integer?: boolean;
}

/**
 * Parses a numeric flag value, or throws a one-line UsageError naming the flag, the
 * allowed range and what was given. `undefined` (flag not given) passes through.
 */
export function numberFlag(flag: string, value: string | undefined, range: NumberFlagRange): number | undefined {
  if (value === undefined) return undefined;
  const { min, max = Infinity, integer = true } = range;
  const n = Number(value);
  const ok = value.trim() !== "" && Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isSafeInteger(n));
  if (!ok) {
    const kind = integer ? "an integer" : "a number";
    const bounds = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be ${kind} ${bounds}, got "${value}"`);
  }
  return n;
}

/** As numberFlag, for flags that always have a value (a default or a required option). */
export function requiredNumberFlag(flag: string, value: string, range: NumberFlagRange): number {
  return numberFlag(flag, value, range) as number;
}
