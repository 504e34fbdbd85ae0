import type { Command } from "commander";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { quantizeFile } from "../../onnx/quantize.js";
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

/** `winnow quantize`: int8 dynamic quantization of an ONNX model (ORT quantize_dynamic's rewrite). */
export function register(program: Command): void {
  program
    .command("quantize")
    .description("int8 dynamic quantization (MatMul weights to int8, activations quantized at run time), as ONNX Runtime's quantize_dynamic")
    .requiredOption("--in <model.onnx>", "fp32 ONNX model")
    .requiredOption("--out <model_quantized.onnx>", "where to write the int8 model (written atomically)")
    .option("--per-channel", "one weight scale per output column instead of per tensor")
    .option("--reduce-range", "7-bit weights, for x86 CPUs without VNNI")
    .option("--fidelity", "then compare int8 with fp32 logits on SciFact query–document pairs")
    .option("--dataset <dir>", "BEIR folder for --fidelity (default ../shared/datasets/scifact)")
    .option("--queries <n>", "queries for --fidelity", "10")
    .option("--docs <n>", "documents per query for --fidelity", "100")
    .action(async (flags: { in: string; out: string; perChannel?: boolean; reduceRange?: boolean; fidelity?: boolean; dataset?: string; queries: string; docs: string }) => {
      const queries = requiredNumberFlag("--queries", flags.queries, { min: 1 });
      const docs = requiredNumberFlag("--docs", flags.docs, { min: 1 });
      if (resolve(flags.in) === resolve(flags.out)) throw new UsageError("--out must differ from --in");
      const report = await quantizeFile(flags.in, flags.out, { perChannel: flags.perChannel, reduceRange: flags.reduceRange });
      console.log(`wrote ${flags.out}: ${report.quantizedMatMuls} MatMul and ${report.quantizedAttention} Attention nodes in int8 (${flags.perChannel ? "per-channel" : "per-tensor"})`);
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
