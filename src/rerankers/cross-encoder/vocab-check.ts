import { WinnowError } from "../../core/errors.js";

interface TokenizerJsonIds {
  model?: { vocab?: Record<string, number> | Array<[string, number]> };
  added_tokens?: Array<{ id: number }>;
}

/** The largest token id tokenizer.json can produce (its model's pieces and its added tokens). */
export function largestTokenId(tokenizerJson: TokenizerJsonIds): number {
  let max = -1;
  const vocab = tokenizerJson.model?.vocab;
  // Unigram lists pieces in id order; BPE / WordPiece map piece → id.
  if (Array.isArray(vocab)) max = vocab.length - 1;
  else if (vocab) for (const id of Object.values(vocab)) if (id > max) max = id;
  for (const t of tokenizerJson.added_tokens ?? []) if (t.id > max) max = t.id;
  return max;
}

/**
 * Refuses a tokenizer whose ids run past the model's embedding rows (config.json
 * vocab_size): such ids would read past the table (ONNX Runtime fails or reads garbage)
 * or score with another model's vocabulary. More rows than pieces is normal (Qwen pads).
 */
export function checkVocabulary(tokenizerJson: TokenizerJsonIds, vocabSize: number | undefined, tokenizerPath: string, configPath: string): void {
  if (typeof vocabSize !== "number") return;
  const largest = largestTokenId(tokenizerJson);
  if (largest >= vocabSize) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${tokenizerPath} has token ids up to ${largest}, but ${configPath} vocab_size is ${vocabSize} (embedding rows): the tokenizer is not this model's`, {
      details: { file: tokenizerPath, field: "vocab_size", largest, vocabSize },
    });
  }
}
