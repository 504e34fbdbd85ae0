import type { Command } from "commander";
import { DEFAULT_SEED, generateModel } from "../../onnx/generate.js";
import { MODEL_PRESETS, isModelPresetName } from "../../onnx/presets.js";
import { UsageError } from "../usage-error.js";

/** `winnow generate-model`: a seeded random-weight model folder for offline demos and benchmarks. */
export function register(program: Command): void {
  const presets = Object.entries(MODEL_PRESETS)
    .map(([name, p]) => `  ${name.padEnd(22)} ${p.description}`)
    .join("\n");
  program
    .command("generate-model")
    .description("write a Hugging Face-layout model folder (config, tokenizer, onnx/model.onnx) with seeded random weights")
    .requiredOption("--preset <name>", `architecture:\n${presets}`)
    .requiredOption("--out <dir>", "output folder (created if missing)")
    .option("--seed <n>", "weight seed (same seed, same weights)", String(DEFAULT_SEED))
    .option("--no-quantized", "skip onnx/model_quantized.onnx")
    .action(async (flags: { preset: string; out: string; seed: string; quantized: boolean }) => {
      if (!isModelPresetName(flags.preset)) {
        throw new UsageError(`--preset must be one of ${Object.keys(MODEL_PRESETS).join(", ")}, got "${flags.preset}"`);
      }
      const seed = Number(flags.seed);
      if (!/^\d+$/.test(flags.seed) || seed > 0xffffffff) throw new UsageError(`--seed must be an integer from 0 to 4294967295, got "${flags.seed}"`);
      const started = Date.now();
      const dir = await generateModel({ dir: flags.out, preset: flags.preset, seed, quantized: flags.quantized ? undefined : false });
      console.log(`wrote ${flags.preset} (seed ${seed}) to ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
}
