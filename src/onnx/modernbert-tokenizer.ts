/**
 * Tokenizer files for generated ModernBERT models, laid out as answerdotai/ModernBERT-base
 * ships them: GPT-2-style byte-level BPE (its OLMo-derived vocabulary is not available
 * offline; the pieces are qwen-bpe-vocab.ts's) with [CLS] A [SEP] B [SEP] pairs and no
 * token type ids in the model. Special tokens follow the pieces, as in the real file
 * ([UNK] [CLS] [SEP] [PAD] [MASK]).
 */
import type { TokenizerFiles } from "./tokenizer-files.js";
import { byteLevelBpeVocab } from "./qwen-bpe-vocab.js";

export function modernBertTokenizerFiles(modelMaxLength: number): TokenizerFiles {
  const bpe = byteLevelBpeVocab();
  const names = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"];
  const ids: Record<string, number> = Object.fromEntries(names.map((t, i) => [t, bpe.size + i]));
  const addedTokens = names.map((t) => ({ id: ids[t], content: t, single_word: false, lstrip: t === "[MASK]", rstrip: false, normalized: false, special: true }));
  const special = (t: string) => ({ id: t, ids: [ids[t]], tokens: [t] });
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
      ],
      special_tokens: { "[CLS]": special("[CLS]"), "[SEP]": special("[SEP]") },
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: bpe.vocab,
      merges: bpe.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const tokens = { cls_token: "[CLS]", mask_token: "[MASK]", pad_token: "[PAD]", sep_token: "[SEP]", unk_token: "[UNK]" };
  return {
    "tokenizer.json": tokenizerJson,
    "tokenizer_config.json": { ...tokens, clean_up_tokenization_spaces: true, model_max_length: modelMaxLength, model_input_names: ["input_ids", "attention_mask"], tokenizer_class: "PreTrainedTokenizerFast" },
    "special_tokens_map.json": tokens,
    vocabSize: bpe.size + names.length,
    padTokenId: ids["[PAD]"],
  };
}
