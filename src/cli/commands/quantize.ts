import type { Command } from "commander";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { quantizeFile, type QuantizeReport } from "../../onnx/quantize.js";
import { formatInt8Probe, INT8_WEIGHT_SCHEMES, type Int8WeightScheme } from "../../onnx/int8-kernel-probe.js";
import { formatFidelityReport, measureFidelity } from "../../onnx/fidelity.js";
import { UsageError } from "../usage-error.js";
import { requiredNumberFlag } from "../number-flag.js";

/** The model folder (with tokenizer.json) for an ONNX file: its folder, or the parent of `onnx/`. */
export function modelFolderFor(onnxPath: string): string | undefined {
  const here = dirname(resolve(onnxPath));
  for (const dir of [here, dirname(here)]) if (existsSync(join(dir, "tokenizer.json"))) return dir;
  return undefined;
}

/** `<repo>/../shared/datasets/scifact`, resolved from this file, not the cwd. */
export function defaultFidelityDataset(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "shared", "datasets", "scifact");
}

/** The --weights value (or --reduce-range) as a scheme; "auto" when neither is given. */
export function weightsFlag(weights: string | undefined, reduceRange: boolean | undefined): Int8WeightScheme | "auto" {
  const allowed = [...INT8_WEIGHT_SCHEMES, "auto"];
  if (weights !== undefined && !allowed.includes(weights)) throw new UsageError(`--weights must be one of ${allowed.join(", ")}, got "${weights}"`);
  if (reduceRange && weights !== undefined && weights !== "s8-reduce-range") throw new UsageError(`--reduce-range contradicts --weights ${weights}`);
  return reduceRange ? "s8-reduce-range" : ((weights ?? "auto") as Int8WeightScheme | "auto");
}

/** Prints the probe line and, when the scheme written is not exact on this CPU, a warning. */
export function reportScheme(report: QuantizeReport): void {
  if (report.probe) console.log(formatInt8Probe(report.probe));
  if (report.exactHere === false) process.stderr.write(`winnow: warning: ${report.weights} weights are not multiplied exactly by ONNX Runtime on this CPU; int8 scores of this file will be off here (fine on CPUs where the probe says exact)\n`);
}

/** `winnow quantize`: int8 dynamic quantization of an ONNX model (ORT quantize_dynamic's rewrite). */
export function register(program: Command): void {
  program
    .command("quantize")
    .description("int8 dynamic quantization (MatMul weights to int8, activations quantized at run time), as ONNX Runtime's quantize_dynamic")
    .requiredOption("--in <model.onnx>", "fp32 ONNX model")
    .requiredOption("--out <model_quantized.onnx>", "where to write the int8 model (written atomically)")
    .option("--per-channel", "one weight scale per output column instead of per tensor")
    .option("--weights <scheme>", "auto (default: exact and fastest on this CPU) | s8 (fast with VNNI; saturates on x86 without it) | u8 (exact everywhere) | s8-reduce-range (7-bit)")
    .option("--reduce-range", "same as --weights s8-reduce-range")
    .option("--fidelity", "then compare int8 with fp32 logits on SciFact query–document pairs")
    .option("--dataset <dir>", "BEIR folder for --fidelity (default ../shared/datasets/scifact)")
    .option("--queries <n>", "queries for --fidelity", "10")
    .option("--docs <n>", "documents per query for --fidelity", "100")
    .action(async (flags: { in: string; out: string; perChannel?: boolean; weights?: string; reduceRange?: boolean; fidelity?: boolean; dataset?: string; queries: string; docs: string }) => {
      const queries = requiredNumberFlag("--queries", flags.queries, { min: 1 });
      const docs = requiredNumberFlag("--docs", flags.docs, { min: 1 });
      const weights = weightsFlag(flags.weights, flags.reduceRange);
      if (resolve(flags.in) === resolve(flags.out)) throw new UsageError("--out must differ from --in");
      const report = await quantizeFile(flags.in, flags.out, { perChannel: flags.perChannel, weights });
      reportScheme(report);
      console.log(`wrote ${flags.out}: ${report.quantizedMatMuls} MatMul and ${report.quantizedAttention} Attention nodes in int8 (${flags.perChannel ? "per-channel" : "per-tensor"}, ${report.weights} weights) — ${report.schemeReason}`);
      if (!flags.fidelity) return;
      const modelDir = modelFolderFor(flags.in);
      if (!modelDir) throw new UsageError(`--fidelity needs tokenizer.json next to ${flags.in} or in its parent folder`);
      const fidelity = await measureFidelity({
        modelDir,
        referencePath: flags.in,
        candidatePath: flags.out,
        datasetDir: flags.dataset ?? defaultFidelityDataset(),
        queries,
        docsPerQuery: docs,
      });
      console.log(formatFidelityReport(fidelity));
    });
}
