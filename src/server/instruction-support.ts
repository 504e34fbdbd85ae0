import type { InstructionSupport } from "../core/reranker-base.js";
import type { Reranker } from "../core/types.js";

/**
 * Whether a reranker reads a call's instruction, as it declares it (RerankerBase's
 * `instruction`); one that says nothing is taken to refuse it, so a served model never
 * drops an instruction silently.
 */
export function instructionSupport(reranker: Reranker): InstructionSupport {
  return (reranker as Partial<{ instruction: unknown }>).instruction === "accepted" ? "accepted" : "refused";
}
