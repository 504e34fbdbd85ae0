import { InvalidInputError } from "../../core/errors.js";
import type { MetadataFilter } from "../../core/types.js";

type Range = { gte?: number | string; lte?: number | string; gt?: number | string; lt?: number | string };
type Scalar = string | number | boolean;

const RANGE_KEYS = new Set(["gte", "lte", "gt", "lt"]);

/**
 * Checks a filter's shape once, up front, so a typo (`{ gte: … , lte: … , foo: 1 }`) is an
 * error naming the field instead of a filter that silently matches nothing.
 */
export function validateMetadataFilter(filter: unknown, field = "filter"): MetadataFilter {
  if (filter === null || typeof filter !== "object" || Array.isArray(filter)) {
    throw new InvalidInputError(`${field} must be an object of metadata field → condition`, { field });
  }
  for (const [key, cond] of Object.entries(filter as Record<string, unknown>)) {
    const path = `${field}.${key}`;
    if (isScalar(cond)) continue;
    if (Array.isArray(cond)) {
      if (cond.length === 0 || !cond.every(isScalar)) {
        throw new InvalidInputError(`${path} must be a non-empty list of strings, numbers or booleans`, { field: path });
      }
      continue;
    }
    if (cond !== null && typeof cond === "object") {
      const keys = Object.keys(cond);
      const bad = keys.find((k) => !RANGE_KEYS.has(k));
      if (keys.length === 0 || bad !== undefined) {
        throw new InvalidInputError(`${path} range accepts only gte, lte, gt, lt${bad ? ` (got "${bad}")` : ""}`, { field: path });
      }
      for (const k of keys) {
        const v = (cond as Record<string, unknown>)[k];
        if (typeof v !== "number" && typeof v !== "string") {
          throw new InvalidInputError(`${path}.${k} must be a number or a date string`, { field: `${path}.${k}` });
        }
        if (typeof v === "string" && Number.isNaN(Date.parse(v))) {
          throw new InvalidInputError(`${path}.${k} "${v}" is not a date`, { field: `${path}.${k}` });
        }
      }
      continue;
    }
    throw new InvalidInputError(`${path} must be a value, a list of values or a range {gte, lte, gt, lt}`, { field: path });
  }
  return filter as MetadataFilter;
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

/** Dates compare as epoch milliseconds so `{ gte: "2024-01-01" }` works on ISO date strings. */
function comparable(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string") {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  if (v instanceof Date) return v.getTime();
  return undefined;
}

function matchesCondition(value: unknown, cond: MetadataFilter[string]): boolean {
  if (isScalar(cond)) return Array.isArray(value) ? value.includes(cond) : value === cond;
  if (Array.isArray(cond)) {
    return Array.isArray(value) ? value.some((v) => cond.includes(v as Scalar)) : cond.includes(value as Scalar);
  }
  const r = cond as Range;
  const x = comparable(value);
  if (x === undefined) return false;
  if (r.gte !== undefined && !(x >= comparable(r.gte)!)) return false;
  if (r.gt !== undefined && !(x > comparable(r.gt)!)) return false;
  if (r.lte !== undefined && !(x <= comparable(r.lte)!)) return false;
  if (r.lt !== undefined && !(x < comparable(r.lt)!)) return false;
  return true;
}

/**
 * True when every key of the filter matches the document's metadata: equality, one of a
 * list (a list-valued field matches when any element does), or a numeric/date range.
 * A missing field never matches.
 */
export function matchesMetadataFilter(metadata: Record<string, unknown> | undefined, filter: MetadataFilter | undefined): boolean {
  if (!filter) return true;
  for (const [key, cond] of Object.entries(filter)) {
    const value = metadata?.[key];
    if (value === undefined || value === null) return false;
    if (!matchesCondition(value, cond)) return false;
  }
  return true;
}
