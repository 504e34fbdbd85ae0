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
    // The int8 export (dynamic, s8 weights), as the ONNX exports of this model name it.
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_int8.onnx", fp16: "onnx/model_fp16.onnx" },
    int8Files: [{ file: "onnx/model_int8.onnx", weights: "s8" }],
    languages: "multilingual (100+, XLM-R vocabulary)",
    licence: "Apache-2.0",
    published: "MIRACL nDCG@10 69.3 (over bge-m3 dense top 100), model card",
    unverified: "ONNX file names follow the onnx-community export layout (weights over 2 GB in model.onnx_data); the MIRACL figure is recalled, not re-read",
  },
  {
    id: "Alibaba-NLP/gte-reranker-modernbert-base",
    architecture: "modernbert",
    params: "149M",
    maxLength: 8192,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_int8.onnx", fp16: "onnx/model_fp16.onnx" },
    int8Files: [
      { file: "onnx/model_int8.onnx", weights: "s8" },
      { file: "onnx/model_uint8.onnx", weights: "u8" },
    ],
    languages: "en",
    licence: "Apache-2.0",
    published: "BEIR avg nDCG@10 56.73, LoCo 90.68, COIR 79.99 (model card)",
    unverified: "ONNX names (transformers.js layout) and the figures are recalled offline; check the repo's onnx/ folder",
  },
  {
    id: "jinaai/jina-reranker-v2-base-multilingual",
    architecture: "jina-xlm-roberta",
    params: "278M",
    maxLength: 1024,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "int8",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_int8.onnx", fp16: "onnx/model_fp16.onnx" },
    int8Files: [
      { file: "onnx/model_int8.onnx", weights: "s8" },
      { file: "onnx/model_uint8.onnx", weights: "u8" },
    ],
    languages: "multilingual (100+)",
    licence: "CC-BY-NC-4.0",
    published: "BEIR 57.06, MKQA 54.83, MLDR 68.95, CodeSearchNet 71.36 (model card)",
    unverified: "max length 1024 is the trained length (longer inputs are windowed); ONNX names and figures recalled offline",
  },
  {
    id: "Alibaba-NLP/gte-multilingual-reranker-base",
    architecture: "gte-new",
    params: "306M",
    maxLength: 8192,
    tokenTypeIds: false,
    numLabels: 1,
    defaultDtype: "fp32",
    // A custom architecture (NewForSequenceClassification: rotary XLM-R-sized encoder); its ONNX export is the way to run it here.
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_int8.onnx", fp16: "onnx/model_fp16.onnx" },
    int8Files: [{ file: "onnx/model_int8.onnx", weights: "s8" }],
    languages: "multilingual (70+)",
    licence: "Apache-2.0",
    published: "MIRACL / MLDR / BEIR figures on the model card (not recalled precisely here)",
    unverified: "ONNX file names recalled offline; the graph is not generated or tested by Winnow (its rotary NewModel attention is not one of the generator's families)",
  },
  {
    id: "Qwen/Qwen3-Reranker-0.6B",
    architecture: "qwen3",
    kind: "decoder",
    template: "qwen3-reranker",
    params: "596M",
    maxLength: 32768,
    tokenTypeIds: false,
    numLabels: 2,
    defaultDtype: "fp32",
    // Qwen publishes safetensors only; ONNX exports (community, optimum layout) carry these names.
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_int8.onnx", fp16: "onnx/model_fp16.onnx" },
    int8Files: [{ file: "onnx/model_int8.onnx", weights: "s8" }],
    otherFiles: { q4: "onnx/model_q4.onnx" },
    languages: "multilingual (100+)",
    licence: "Apache-2.0",
    published: "MTEB-R 65.80, CMTEB-R 71.31, MMTEB-R 66.36, MLDR 67.28, MTEB-Code 73.42 (model card, over Qwen3-Embedding-0.6B top 100)",
    unverified: "ONNX exports are community ones (names vary: pass onnxFile); the figures are recalled offline",
  },
  {
    id: "mixedbread-ai/mxbai-rerank-base-v2",
    architecture: "qwen2",
    kind: "decoder",
    template: "mxbai-rerank-v2",
    params: "494M",
    maxLength: 8192,
    tokenTypeIds: false,
    numLabels: 2,
    defaultDtype: "fp32",
    onnxFiles: { fp32: "onnx/model.onnx", int8: "onnx/model_quantized.onnx", fp16: "onnx/model_fp16.onnx" },
    int8Files: [{ file: "onnx/model_quantized.onnx", weights: "s8" }],
    languages: "multilingual (100+)",
    licence: "Apache-2.0",
    published: "BEIR avg nDCG@10 55.57 (model card)",
    unverified: "the prompt and label tokens (\"1\" / \"0\") follow the mxbai-rerank package as recalled offline; ONNX names vary by export",
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
