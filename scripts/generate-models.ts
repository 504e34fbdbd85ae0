/**
 * npm run models:generate -- [--preset NAME]... [--out DIR] [--seed N] [--int8-weights auto|s8|u8|s8-reduce-range]
 * Without --out, fills the shared cache (<repo>/.cache/models/<preset>) that tests
 * and benchmarks use; without --preset, generates every preset. The int8 graph's
 * weights default to the scheme exact on this CPU (the cache always uses that one).
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DEFAULT_SEED, ensureGeneratedModel, generateModel } from "../src/onnx/generate.js";
import { MODEL_PRESETS, isModelPresetName, type ModelPresetName } from "../src/onnx/presets.js";
import { INT8_WEIGHT_SCHEMES, type Int8WeightScheme } from "../src/onnx/int8-kernel-probe.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", multiple: true },
    out: { type: "string" },
    seed: { type: "string", default: String(DEFAULT_SEED) },
    "int8-weights": { type: "string", default: "auto" },
  },
});
const presets = (values.preset ?? Object.keys(MODEL_PRESETS)) as string[];
for (const p of presets) {
  if (!isModelPresetName(p)) {
    console.error(`unknown preset "${p}" (known: ${Object.keys(MODEL_PRESETS).join(", ")})`);
    process.exit(2);
  }
}
const int8Weights = values["int8-weights"] as string;
if (![...INT8_WEIGHT_SCHEMES, "auto"].includes(int8Weights)) {
  console.error(`--int8-weights must be one of ${[...INT8_WEIGHT_SCHEMES, "auto"].join(", ")}, got "${int8Weights}"`);
  process.exit(2);
}
if (int8Weights !== "auto" && !values.out) {
  console.error("--int8-weights needs --out: the shared cache always holds the scheme exact on this CPU");
  process.exit(2);
}
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`--seed must be a non-negative integer, got "${values.seed}"`);
  process.exit(2);
}
for (const preset of presets as ModelPresetName[]) {
  const started = Date.now();
  const dir = values.out
    ? await generateModel({ dir: presets.length > 1 ? join(values.out, preset) : values.out, preset, seed, int8Weights: int8Weights as Int8WeightScheme | "auto" })
    : await ensureGeneratedModel(preset, { seed });
  console.log(`${preset}: ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
