import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { WinnowError } from "../../core/errors.js";

/**
 * Platt scaling: relevance probability = sigmoid(a · logit + b), fitted on judged
 * pairs. Raw logits differ in scale between models (and a random-weight model's
 * sigmoid is not a probability at all), so a threshold such as "keep score ≥ 0.5"
 * only means the same thing across models after calibration. Temperature scaling is
 * the special case b = 0. Written by hand: it is a two-parameter logistic regression.
 */
export interface PlattCalibration {
  kind: "platt";
  a: number;
  b: number;
  /** Model the mapping was fitted for (a calibration is only valid for that model). */
  model?: string;
  fittedOn?: Record<string, unknown>;
}

export interface PlattFit extends PlattCalibration {
  iterations: number;
  /** Mean log loss on the fitting pairs (with Platt's smoothed targets). */
  logLoss: number;
}

/** Logistic function, written to stay finite for large |x|. */
export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export function applyCalibration(c: PlattCalibration, logit: number): number {
  return sigmoid(c.a * logit + c.b);
}

/**
 * Fits (a, b) by Newton's method (IRLS) on the log loss, with Platt's smoothed
 * targets ((N₊+1)/(N₊+2) and 1/(N₋+2)) so separable data cannot drive a to infinity,
 * plus a tiny ridge on a for the same reason.
 */
export function fitPlatt(logits: ArrayLike<number>, labels: ArrayLike<number>, options: { maxIterations?: number; ridge?: number } = {}): PlattFit {
  const n = logits.length;
  if (n !== labels.length) throw new WinnowError("INVALID_INPUT", `calibration: ${n} logits but ${labels.length} labels`, { details: { field: "labels" } });
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(logits[i])) throw new WinnowError("INVALID_INPUT", `calibration: logit ${i} is not finite`, { details: { field: `logits[${i}]` } });
    if (labels[i] !== 0 && labels[i] !== 1) throw new WinnowError("INVALID_INPUT", `calibration: label ${i} must be 0 or 1, got ${labels[i]}`, { details: { field: `labels[${i}]` } });
    pos += labels[i];
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) {
    throw new WinnowError("INVALID_INPUT", `calibration needs both relevant and non-relevant pairs (got ${pos} relevant, ${neg} non-relevant)`, { details: { field: "labels" } });
  }
  const hi = (pos + 1) / (pos + 2);
  const lo = 1 / (neg + 2);
  const ridge = options.ridge ?? 1e-6;
  const maxIterations = options.maxIterations ?? 100;
  const targets = Float64Array.from({ length: n }, (_, i) => (labels[i] === 1 ? hi : lo));
  const lossAt = (a: number, b: number): number => {
    let loss = 0.5 * ridge * a * a;
    for (let i = 0; i < n; i++) {
      const z = a * logits[i] + b;
      // log(1 + e^z) - t·z, computed without overflow.
      loss += ((z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - targets[i] * z) / n;
    }
    return loss;
  };
  let a = 1;
  let b = Math.log((pos + 1) / (neg + 1));
  let current = lossAt(a, b);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    // Gradient and Hessian of the mean log loss in (a, b).
    let ga = ridge * a, gb = 0, haa = ridge, hab = 0, hbb = 0;
    for (let i = 0; i < n; i++) {
      const x = logits[i];
      const p = sigmoid(a * x + b);
      const w = Math.max(p * (1 - p), 1e-12);
      ga += ((p - targets[i]) * x) / n;
      gb += (p - targets[i]) / n;
      haa += (w * x * x) / n;
      hab += (w * x) / n;
      hbb += w / n;
    }
    const det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    // Backtracking: a full Newton step can overshoot far from the optimum (flat sigmoid tails).
    let step = 1;
    let next = lossAt(a - da, b - db);
    while (next > current && step > 1e-6) {
      step /= 2;
      next = lossAt(a - step * da, b - step * db);
    }
    if (next > current) break;
    a -= step * da;
    b -= step * db;
    const improvement = current - next;
    current = next;
    if (improvement < 1e-12 || (Math.abs(step * da) < 1e-10 && Math.abs(step * db) < 1e-10)) break;
  }
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(sigmoid(a * logits[i] + b), 1e-15), 1 - 1e-15);
    loss -= targets[i] * Math.log(p) + (1 - targets[i]) * Math.log(1 - p);
  }
  return { kind: "platt", a, b, iterations, logLoss: loss / n };
}

/** Reads a calibration from a file path or validates one given as an object. */
export function loadCalibration(source: string | PlattCalibration, field = "calibration"): PlattCalibration {
  let raw: unknown = source;
  if (typeof source === "string") {
    try {
      raw = JSON.parse(readFileSync(source, "utf8"));
    } catch (err) {
      throw new WinnowError("CONFIG_INVALID", `${field}: cannot read ${source}: ${(err as Error).message}`, { details: { field, path: source } });
    }
  }
  const c = raw as Partial<PlattCalibration> | null;
  if (c === null || typeof c !== "object" || (c.kind !== undefined && c.kind !== "platt") || !Number.isFinite(c.a) || !Number.isFinite(c.b)) {
    throw new WinnowError("CONFIG_INVALID", `${field} must be {"kind":"platt","a":number,"b":number} (as written by \`winnow calibrate\`)`, { details: { field } });
  }
  return { kind: "platt", a: c.a as number, b: c.b as number, model: c.model, fittedOn: c.fittedOn };
}

export function saveCalibration(path: string, calibration: PlattCalibration): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, JSON.stringify(calibration, null, 2) + "\n");
  renameSync(tmp, path);
}
