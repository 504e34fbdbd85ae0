/**
 * What `import { finetuneCrossEncoder } from "winnow"` gets: the fine-tuning code (its
 * report renderer, ONNX export, tokenizer) loads on the first call, so importing the
 * library stays light (test/package-entry-points.test.ts).
 */
import type { FinetuneCrossEncoderOptions } from "./finetune.js";
import type { FinetuneReport } from "./finetune-report.js";

export type { FinetuneCrossEncoderOptions, FinetuneProgress } from "./finetune.js";
export type { FinetuneReport } from "./finetune-report.js";

/** Fine-tunes a cross-encoder on labels with the shipped PyTorch trainer; see docs/finetune.md. */
export async function finetuneCrossEncoder(options: FinetuneCrossEncoderOptions): Promise<FinetuneReport> {
  return (await import("./finetune.js")).finetuneCrossEncoder(options);
}
