/**
 * npm run models:generate -- [--preset NAME]... [--out DIR] [--seed N]
 * Without --out, fills the shared cache (<repo>/.cache/models/<preset>) that tests
 * and benchmarks use; without --preset, generates every preset.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { DEFAULT_SEED, ensureGeneratedModel, generateModel } from "../src/onnx/generate.js";
import { MODEL_PRESETS, isModelPresetName, type ModelPresetName } from "../src/onnx/presets.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", multiple: true },
    out: { type: "string" },
    seed: { type: "string", default: String(DEFAULT_SEED) },
  },
});
const presets = (values.preset ?? Object.keys(MODEL_PRESETS)) as string[];
for (const p of presets) {
  if (!isModelPresetName(p)) {
    console.error(`unknown preset "${p}" (known: ${Object.keys(MODEL_PRESETS).join(", ")})`);
    process.exit(2);
  }
}
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) {
  console.error(`--seed must be a non-negative integer, got "${values.seed}"`);
  process.exit(2);
}
for (const preset of presets as ModelPresetName[]) {
  const started = Date.now();
  const dir = values.out
    ? await generateModel({ dir: presets.length > 1 ? join(values.out, preset) : values.out, preset, seed })
    : await ensureGeneratedModel(preset, { seed });
  console.log(`${preset}: ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
