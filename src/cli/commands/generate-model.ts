import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SEED, GENERATED_MARKER, generateModel } from "../../onnx/generate.js";
import { MODEL_PRESETS, isModelPresetName } from "../../onnx/presets.js";
import { UsageError } from "../usage-error.js";
import { weightsFlag } from "./quantize.js";

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
    .option("--int8-weights <scheme>", "weights of onnx/model_quantized.onnx: auto (default: exact and fastest on this CPU) | s8 | u8 | s8-reduce-range")
    .action(async (flags: { preset: string; out: string; seed: string; quantized: boolean; int8Weights?: string }) => {
      if (!isModelPresetName(flags.preset)) {
        throw new UsageError(`--preset must be one of ${Object.keys(MODEL_PRESETS).join(", ")}, got "${flags.preset}"`);
      }
      const seed = Number(flags.seed);
      if (!/^\d+$/.test(flags.seed) || seed > 0xffffffff) throw new UsageError(`--seed must be an integer from 0 to 4294967295, got "${flags.seed}"`);
      const int8Weights = weightsFlag(flags.int8Weights, undefined);
      if (flags.int8Weights !== undefined && !flags.quantized) throw new UsageError("--int8-weights contradicts --no-quantized");
      const started = Date.now();
      const dir = await generateModel({ dir: flags.out, preset: flags.preset, seed, quantized: flags.quantized ? undefined : false, int8Weights });
      const marker = JSON.parse(readFileSync(join(dir, GENERATED_MARKER), "utf8")) as { int8Weights?: string; int8Reason?: string };
      const int8 = marker.int8Weights ? `; onnx/model_quantized.onnx has ${marker.int8Weights} weights (${marker.int8Reason})` : "";
      console.log(`wrote ${flags.preset} (seed ${seed}) to ${dir} in ${((Date.now() - started) / 1000).toFixed(1)} s${int8}`);
    });
}
