import type { Command } from "commander";
import { resolve } from "node:path";
import { fuseFile } from "../../onnx/fuse.js";
import { quantizeFile } from "../../onnx/quantize.js";
import { formatFidelityReport, measureFidelity } from "../../onnx/fidelity.js";
import { UsageError } from "../usage-error.js";
import { defaultFidelityDataset, modelFolderFor, reportScheme, weightsFlag } from "./quantize.js";

/** `winnow optimize`: transformer fusion (Attention, SkipLayerNorm, LayerNorm, BiasGelu, EmbedLayerNorm). */
export function register(program: Command): void {
  program
    .command("optimize")
    .description("fuse a BERT / XLM-R ONNX graph into ONNX Runtime's com.microsoft transformer ops (as its Python transformer optimizer does)")
    .requiredOption("--in <model.onnx>", "ONNX model (fp32; an int8 model from `winnow quantize` fuses everything but attention)")
    .requiredOption("--out <model_fused.onnx>", "where to write the fused model (written atomically)")
    .option("--no-attention", "keep attention unfused")
    .option("--flash-attention", "instead of Attention: If(no padding) mask-free MultiHeadAttention (ORT's CPU flash kernel) else attention as exported; also on int8 graphs (what the cross-encoder does at load)")
    .option("--no-embed-layer-norm", "keep the embedding Gathers and LayerNorm unfused")
    .option("--no-skip-layer-norm", "keep residual Add + LayerNormalization unfused (faster on ORT 1.30 CPU: docs/onnx-tools.md)")
    .option("--no-bias-gelu", "keep the FFN bias Add and Gelu unfused")
    .option("--quantize", "then quantize the fused graph to int8 (Attention becomes QAttention)")
    .option("--per-channel", "with --quantize: per-column weight scales")
    .option("--weights <scheme>", "with --quantize: auto (default) | s8 | u8 | s8-reduce-range, as in `winnow quantize`")
    .option("--fidelity", "then compare the output with --in on SciFact query–document pairs")
    .option("--dataset <dir>", "BEIR folder for --fidelity (default ../shared/datasets/scifact)")
    .action(async (flags: { in: string; out: string; attention: boolean; flashAttention?: boolean; embedLayerNorm: boolean; skipLayerNorm: boolean; biasGelu: boolean; quantize?: boolean; perChannel?: boolean; weights?: string; fidelity?: boolean; dataset?: string }) => {
      if (resolve(flags.in) === resolve(flags.out)) throw new UsageError("--out must differ from --in");
      if (flags.flashAttention && !flags.attention) throw new UsageError("--flash-attention and --no-attention contradict each other");
      if (flags.weights !== undefined && !flags.quantize) throw new UsageError("--weights needs --quantize");
      const weights = weightsFlag(flags.weights, undefined);
      const report = await fuseFile(flags.in, flags.out, { attention: flags.flashAttention ? "flash-when-unpadded" : flags.attention, embedLayerNorm: flags.embedLayerNorm, skipLayerNorm: flags.skipLayerNorm, biasGelu: flags.biasGelu });
      const parts = Object.entries(report).map(([k, v]) => `${k} ${v}`).join(", ");
      console.log(`wrote ${flags.out}: fused ${parts}`);
      if (flags.quantize) {
        const q = await quantizeFile(flags.out, flags.out, { perChannel: flags.perChannel, weights });
        reportScheme(q);
        console.log(`quantized ${flags.out}: ${q.quantizedMatMuls} MatMul and ${q.quantizedAttention} Attention nodes in int8 (${q.weights} weights) — ${q.schemeReason}`);
      }
      if (!flags.fidelity) return;
      const modelDir = modelFolderFor(flags.in);
      if (!modelDir) throw new UsageError(`--fidelity needs tokenizer.json next to ${flags.in} or in its parent folder`);
      const fidelity = await measureFidelity({ modelDir, referencePath: flags.in, candidatePath: flags.out, datasetDir: flags.dataset ?? defaultFidelityDataset(), queries: 5, docsPerQuery: 50 });
      console.log(formatFidelityReport(fidelity));
    });
}
