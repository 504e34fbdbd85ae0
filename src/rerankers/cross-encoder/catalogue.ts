/**
 * Known cross-encoder rerankers and what running each one needs. Unknown models
 * still work: everything here is also derived from the model's config.json and the
 * ONNX graph's declared inputs; the catalogue adds defaults (dtype, ONNX file names,
 * the length the model was trained at) and lets `winnow models` tell users what exists.
 * ONNX file names are those published in each repo at the time of writing; a repo
 * that moves them can be served with the `onnxFile` option.
 */

export type Dtype = "fp32" | "int8" | "fp16";

export interface CatalogueEntry {
  id: string;
  architecture: "bert" | "xlm-roberta" | "jina-bert" | "deberta-v2" | "modernbert" | "jina-xlm-roberta" | "gte-new" | "qwen3" | "qwen2";
  /** "decoder": a causal LM scored from label-token logits (src/rerankers/decoder); default a sequence classifier. */
  kind?: "cross-encoder" | "decoder";
  /** Decoders: the prompt it was trained with (src/rerankers/decoder/decoder-template.ts). */
  template?: string;
  /** Licence as stated on the model card. */
  licence?: string;
  /** Quality figures as the authors published them (not measured by Winnow), with where. */
  published?: string;
  /** Facts not checked against the model's files here (no hub access when this was written). */
  unverified?: string;
  /** Other published weight files (e.g. q4), not loaded by a dtype: use `onnxFile`. */
  otherFiles?: Readonly<Record<string, string>>;
  /** Parameter count, for users choosing by size. */
  params: string;
  /** Longest pair (tokens, specials included) the model takes. */
  maxLength: number;
  /** Whether the graph takes `token_type_ids` (BERT: yes; XLM-R and DeBERTa-v3: no). */
  tokenTypeIds: boolean;
  /** 1 logit → sigmoid; 2 logits → softmax of the positive class. */
  numLabels: 1 | 2;
  defaultDtype: Dtype;
  /** The fp32 graph, and the int8 graph that is exact on every CPU where there is one. */
  onnxFiles: Partial<Record<Dtype, string>>;
  /**
   * Every int8 graph the repo publishes, with the integer type of its weights as published
   * (the loader checks the file itself). `dtype: "int8"` takes the one exact and fastest on
   * the CPU at hand: s8 where u8×s8 products are exact (VNNI, AMX, ARM), u8 elsewhere.
   */
  int8Files?: readonly Int8File[];
  languages: string;
}

export interface Int8File {
  file: string;
  weights: "s8" | "u8";
}

/** The int8 graphs Sentence Transformers publishes for its cross-encoders (optimum exports). */
const SENTENCE_TRANSFORMERS_INT8: readonly Int8File[] = [
  { file: "onnx/model_qint8_avx512_vnni.onnx", weights: "s8" },
  { file: "onnx/model_quint8_avx2.onnx", weights: "u8" },
];

export const CROSS_ENCODER_CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: "cross-encoder/ms-marco-TinyBERT-L-2-v2",
    architecture: "bert",
    params: "4.4M",
    maxLength: 512,
    tokenTypeIds: true,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quint8_avx2.onnx" },
    int8Files: SENTENCE_TRANSFORMERS_INT8,
    languages: "en",
  },
  {
    id: "cross-encoder/ms-marco-MiniLM-L-6-v2",
    architecture: "bert",
    params: "22.7M",
    maxLength: 512,
    tokenTypeIds: true,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quint8_avx2.onnx" },
    int8Files: SENTENCE_TRANSFORMERS_INT8,
    languages: "en",
  },
  {
    id: "cross-encoder/ms-marco-MiniLM-L-12-v2",
    architecture: "bert",
    params: "33.4M",
    maxLength: 512,
    tokenTypeIds: true,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quint8_avx2.onnx" },
    int8Files: SENTENCE_TRANSFORMERS_INT8,
    languages: "en",
  },
  {
    id: "BAAI/bge-reranker-base",
    architecture: "xlm-roberta",
    params: "278M",
    maxLength: 512,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "fp32",
    onnxFiles: { fp32: "onnx/model.onnx" },
    languages: "en, zh",
  },
  {
    id: "BAAI/bge-reranker-large",
    architecture: "xlm-roberta",
    params: "560M",
    maxLength: 512,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "fp32",
    onnxFiles: { fp32: "onnx/model.onnx" },
    languages: "en, zh",
  },
  {
    id: "BAAI/bge-reranker-v2-m3",
    architecture: "xlm-roberta",
    params: "568M",
    maxLength: 8192,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "fp32",
    onnxFiles: { fp32: "onnx/model.onnx" },
    languages: "multilingual",
  },
  {
    id: "jinaai/jina-reranker-v1-tiny-en",
    architecture: "jina-bert",
    params: "33M",
    maxLength: 8192,
    tokenTypeIds: true,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quantized.onnx" },
    int8Files: [{ file: "onnx/model_quantized.onnx", weights: "s8" }],
    languages: "en",
  },
  {
    id: "jinaai/jina-reranker-v1-turbo-en",
    architecture: "jina-bert",
    params: "37.8M",
    maxLength: 8192,
    tokenTypeIds: true,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quantized.onnx" },
    int8Files: [{ file: "onnx/model_quantized.onnx", weights: "s8" }],
    languages: "en",
  },
  {
    id: "mixedbread-ai/mxbai-rerank-xsmall-v1",
    architecture: "deberta-v2",
    params: "70.8M",
    maxLength: 512,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quantized.onnx" },
    int8Files: [{ file: "onnx/model_quantized.onnx", weights: "s8" }],
    languages: "en",
  },
  {
    id: "mixedbread-ai/mxbai-rerank-base-v1",
    architecture: "deberta-v2",
    params: "184M",
    maxLength: 512,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quantized.onnx" },
    int8Files: [{ file: "onnx/model_quantized.onnx", weights: "s8" }],
    languages: "en",
  },
];

export function catalogueEntry(id: string): CatalogueEntry | undefined {
  const lower = id.toLowerCase();
  return CROSS_ENCODER_CATALOGUE.find((e) => e.id.toLowerCase() === lower);
}

/** The Hugging Face layout's ONNX names (what transformers.js/optimum export), used when the catalogue has no entry. */
export const DEFAULT_ONNX_FILES: Record<Dtype, string> = {
  fp32: "onnx/model.onnx",
  int8: "onnx/model_quantized.onnx",
  fp16: "onnx/model_fp16.onnx",
};
