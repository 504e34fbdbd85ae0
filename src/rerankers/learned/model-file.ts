import { randomBytes } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { WinnowError } from "../../core/errors.js";
import { FEATURE_SET_VERSION, validateFeatureNames } from "./features.js";
import { validateTree, type RegressionTree } from "./regression-tree.js";

export const MODEL_FORMAT = "winnow-learned-ranker";
export const MODEL_FORMAT_VERSION = 1;

/**
 * A trained learned-reranker model as saved on disk (JSON): the feature names it reads,
 * the base margin it starts from and the trees it adds. Score of a candidate =
 * baseMargin.scale × feature[baseMargin.feature] + Σ trees.
 */
export interface LearnedModel {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_FORMAT_VERSION;
  featureSetVersion: number;
  features: string[];
  baseMargin: { feature: string; scale: number } | null;
  trees: RegressionTree[];
  /** How the model was made (dataset, split, params, validation figures): informational. */
  training?: Record<string, unknown>;
}

function fail(path: string, field: string, why: string): never {
  throw new WinnowError("MODEL_LOAD_FAILED", `${path}: ${field} ${why}`, { details: { path, field } });
}

/** Validates a parsed model object; `path` names the source in errors. */
export function parseLearnedModel(raw: unknown, path: string): LearnedModel {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(path, "model", "must be a JSON object");
  const m = raw as Record<string, unknown>;
  if (m.format !== MODEL_FORMAT) fail(path, "format", `must be "${MODEL_FORMAT}" (got ${JSON.stringify(m.format)})`);
  if (m.version !== MODEL_FORMAT_VERSION) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${path}: version ${String(m.version)} is not supported (this Winnow reads version ${MODEL_FORMAT_VERSION})`, {
      details: { path, field: "version" },
    });
  }
  if (m.featureSetVersion !== FEATURE_SET_VERSION) {
    fail(path, "featureSetVersion", `is ${String(m.featureSetVersion)}, but this Winnow computes feature set ${FEATURE_SET_VERSION}: retrain the model`);
  }
  try {
    validateFeatureNames(m.features as string[]);
  } catch (err) {
    fail(path, "features", (err as Error).message);
  }
  const features = m.features as string[];
  let baseMargin: LearnedModel["baseMargin"] = null;
  if (m.baseMargin !== null && m.baseMargin !== undefined) {
    const b = m.baseMargin as Record<string, unknown>;
    if (typeof b !== "object" || typeof b.feature !== "string" || typeof b.scale !== "number" || !Number.isFinite(b.scale)) {
      fail(path, "baseMargin", "must be null or { feature: string, scale: number }");
    }
    if (!features.includes(b.feature as string)) fail(path, "baseMargin.feature", `"${String(b.feature)}" is not one of the model's features`);
    baseMargin = { feature: b.feature as string, scale: b.scale as number };
  }
  if (!Array.isArray(m.trees)) fail(path, "trees", "must be an array");
  const trees = (m.trees as unknown[]).map((t, i) => validateTree(t, features.length, `${path}: trees[${i}]`));
  return {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    featureSetVersion: FEATURE_SET_VERSION,
    features,
    baseMargin,
    trees,
    training: typeof m.training === "object" && m.training !== null ? (m.training as Record<string, unknown>) : undefined,
  };
}

export async function loadLearnedModel(path: string): Promise<LearnedModel> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new WinnowError(code === "ENOENT" ? "MODEL_NOT_FOUND" : "MODEL_LOAD_FAILED", `learned model ${path}: ${code === "ENOENT" ? "file not found" : (err as Error).message}`, {
      details: { path, field: "model" },
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `learned model ${path}: not valid JSON (${(err as Error).message})`, { details: { path }, cause: err });
  }
  return parseLearnedModel(raw, path);
}

/**
 * Rounds leaf values to 9 significant digits so the committed JSON stays small. Thresholds
 * stay exact: rounding one could move it across a training value and change a split.
 */
function compactTree(t: RegressionTree): RegressionTree {
  const r = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(9)) : x);
  return { ...t, threshold: t.threshold.slice(), leafValue: t.leafValue.map(r) };
}

/** Writes the model atomically (temp file + rename), so a crash never leaves half a model. */
export async function saveLearnedModel(model: LearnedModel, path: string): Promise<void> {
  const body = JSON.stringify({ ...model, trees: model.trees.map(compactTree) }) + "\n";
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, body, "utf8");
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new WinnowError("INVALID_INPUT", `cannot write model to ${path}: ${(err as Error).message}`, { details: { field: "out", path }, cause: err });
  }
}
