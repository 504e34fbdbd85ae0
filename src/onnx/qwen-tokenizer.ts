/**
 * Tokenizer files for generated Qwen2/Qwen3-style decoders, laid out as the Qwen
 * repos ship them: NFC normalizer, the Qwen2 split regex then byte-level mapping, BPE
 * without an unknown token, and the chat special tokens (<|endoftext|> as padding,
 * <|im_start|>, <|im_end|>, and Qwen3's <think> / </think> as non-special added tokens).
 * Pieces and merges: qwen-bpe-vocab.ts.
 */
import type { TokenizerFiles } from "./tokenizer-files.js";
import { byteLevelBpeVocab } from "./qwen-bpe-vocab.js";

/** The pre-tokenizer regex of Qwen2/Qwen3's tokenizer.json. */
export const QWEN_SPLIT_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const QWEN_SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] as const;
export const QWEN_THINK_TOKENS = ["<think>", "</think>"] as const;

function added(id: number, content: string, special: boolean) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

export function qwenTokenizerFiles(modelMaxLength: number): TokenizerFiles {
  const bpe = byteLevelBpeVocab();
  const base = bpe.size;
  const specials = QWEN_SPECIAL_TOKENS.map((t, i) => added(base + i, t, true));
  const think = QWEN_THINK_TOKENS.map((t, i) => added(base + specials.length + i, t, false));
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...specials, ...think],
    normalizer: { type: "NFC" },
    pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: QWEN_SPLIT_REGEX }, behavior: "Isolated", invert: false }, byteLevel] },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: bpe.vocab,
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const tokens = { eos_token: "<|im_end|>", pad_token: "<|endoftext|>" };
  return {
    "tokenizer.json": tokenizerJson,
    "tokenizer_config.json": {
      ...tokens,
      bos_token: null,
      unk_token: null,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
      errors: "replace",
      model_max_length: modelMaxLength,
      split_special_tokens: false,
      padding_side: "left",
      tokenizer_class: "Qwen2Tokenizer",
    },
    "special_tokens_map.json": { ...tokens, additional_special_tokens: ["<|im_start|>", "<|im_end|>"] },
    vocabSize: base + specials.length + think.length,
    padTokenId: base,
  };
}
