import { WinnowError } from "../../core/errors.js";

/**
 * The prompts decoder-only rerankers were trained with, as their model cards document
 * them. A pair is rendered as prefix + head(instruction, query) + " " + document + suffix;
 * the score is the log-odds of the positive label token against the negative one at the
 * last position (their softmax over the two is the documented relevance).
 */
export interface DecoderTemplate {
  name: string;
  /** Tokenized on its own, as the model cards do. */
  prefix: string;
  /** The text before the document; it ends just before the space that precedes it. */
  head(instruction: string | undefined, query: string): string;
  /** Between head and document: the document is tokenized as `lead + document`. */
  lead: string;
  /** After the document (tokenized on its own). */
  suffix: string;
  positive: string;
  negative: string;
  /** What `head` uses when the call gives no instruction (undefined: the slot is left out). */
  defaultInstruction?: string;
}

const QWEN3_DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query";

/** Qwen/Qwen3-Reranker-0.6B/4B/8B, from the model card's usage code. */
export const QWEN3_RERANKER_TEMPLATE: DecoderTemplate = {
  name: "qwen3-reranker",
  prefix:
    '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n',
  head: (instruction, query) => `<Instruct>: ${instruction ?? QWEN3_DEFAULT_INSTRUCTION}\n<Query>: ${query}\n<Document>:`,
  lead: " ",
  suffix: "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
  positive: "yes",
  negative: "no",
  defaultInstruction: QWEN3_DEFAULT_INSTRUCTION,
};

/**
 * mixedbread-ai/mxbai-rerank-base-v2 / large-v2 (Qwen2), as the `mxbai-rerank` package
 * builds its prompt: Qwen's chat prefix, optional "instruction: …", "query: …",
 * "document: …", then the task prompt; label tokens "1" (relevant) and "0". Written from
 * that package's source as recalled offline (no hub or PyPI access here): unverified.
 */
export const MXBAI_RERANK_V2_TEMPLATE: DecoderTemplate = {
  name: "mxbai-rerank-v2",
  prefix: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n",
  head: (instruction, query) => `${instruction ? `instruction: ${instruction}\n` : ""}query: ${query}\ndocument:`,
  lead: " ",
  suffix:
    "\nYou are a search relevance expert who evaluates how well documents match search queries. For each query-document pair, carefully analyze the semantic relationship between them, then provide your binary relevance judgment (0 for not relevant, 1 for relevant).\nRelevance:<|im_end|>\n<|im_start|>assistant\n",
  positive: "1",
  negative: "0",
};

export const DECODER_TEMPLATES: Readonly<Record<string, DecoderTemplate>> = {
  [QWEN3_RERANKER_TEMPLATE.name]: QWEN3_RERANKER_TEMPLATE,
  [MXBAI_RERANK_V2_TEMPLATE.name]: MXBAI_RERANK_V2_TEMPLATE,
};

/** The template named `name`; `where` names the field or file it came from, for the error. */
export function decoderTemplate(name: string, where: string): DecoderTemplate {
  const t = Object.hasOwn(DECODER_TEMPLATES, name) ? DECODER_TEMPLATES[name] : undefined;
  if (!t) {
    throw new WinnowError("CONFIG_INVALID", `${where}: unknown rerank template "${name}" (known: ${Object.keys(DECODER_TEMPLATES).join(", ")})`, { details: { field: where } });
  }
  return t;
}

/** The whole prompt as one string, as the model cards write it (for tests and debugging). */
export function renderPrompt(t: DecoderTemplate, instruction: string | undefined, query: string, document: string): string {
  return `${t.prefix}${t.head(instruction, query)}${t.lead}${document}${t.suffix}`;
}
