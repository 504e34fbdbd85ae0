/**
 * Architectures the generator can build. Sizes are the real ones of the models
 * they stand in for (speed does not depend on weight values), so a generated
 * minilm-l6 times like cross-encoder/ms-marco-MiniLM-L-6-v2.
 */
export type ModelFamily = "bert" | "xlmr" | "modernbert" | "qwen3" | "qwen2";
/** `sequence-classification` outputs `logits` [batch, num_labels]; `encoder` outputs `last_hidden_state`; `colbert` outputs projected token vectors (src/onnx/colbert-graph.ts). */
export type ModelHead = "sequence-classification" | "encoder" | "colbert" | "causal-lm";

export interface ModelPreset {
  family: ModelFamily;
  head: ModelHead;
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  /** Position table size as in config.json (XLM-R reserves padding_idx + 1 extra rows). */
  maxPositionEmbeddings: number;
  numLabels: number;
  layerNormEps: number;
  description: string;
  /** `colbert` head only: token-vector dims and the query/doc lengths its artifact.metadata records. */
  colbert?: { dims: number; queryMaxLength: number; docMaxLength: number };
  /** qwen2/qwen3 decoders (src/onnx/qwen-graph.ts): grouped-query attention, rotary base, tied lm_head, rerank template. */
  decoder?: { kvHeads: number; headDim: number; ropeTheta: number; tieEmbeddings: boolean; rerankTemplate: string };
  /** ModernBERT (src/onnx/modernbert-graph.ts): every Nth layer global, the rest local (window of tokens), rotary bases, pooling. */
  modernbert?: { globalEvery: number; localWindow: number; globalRopeTheta: number; localRopeTheta: number; pooling: "mean" | "cls" };
}

const tiny = { layers: 2, hidden: 128, heads: 2, intermediate: 512 };
const minilm = { layers: 6, hidden: 384, heads: 12, intermediate: 1536 };

export const MODEL_PRESETS = {
  "tiny-bert": {
    family: "bert", head: "sequence-classification", ...tiny, maxPositionEmbeddings: 512, numLabels: 1, layerNormEps: 1e-12,
    description: "2-layer BERT cross-encoder (hidden 128), one relevance logit",
  },
  "tiny-bert-2label": {
    family: "bert", head: "sequence-classification", ...tiny, maxPositionEmbeddings: 512, numLabels: 2, layerNormEps: 1e-12,
    description: "2-layer BERT cross-encoder with two labels (relevance = softmax of label 1)",
  },
  "tiny-xlmr": {
    family: "xlmr", head: "sequence-classification", ...tiny, maxPositionEmbeddings: 514, numLabels: 1, layerNormEps: 1e-5,
    description: "2-layer XLM-RoBERTa-style cross-encoder (no token_type_ids, Unigram tokenizer)",
  },
  "tiny-bi-encoder": {
    family: "bert", head: "encoder", ...tiny, maxPositionEmbeddings: 512, numLabels: 0, layerNormEps: 1e-12,
    description: "2-layer BERT encoder, outputs last_hidden_state (for dense retrieval)",
  },
  "minilm-l6": {
    family: "bert", head: "sequence-classification", ...minilm, maxPositionEmbeddings: 512, numLabels: 1, layerNormEps: 1e-12,
    description: "MiniLM-L6-H384 cross-encoder (the ms-marco-MiniLM-L-6-v2 architecture)",
  },
  "minilm-l6-bi-encoder": {
    family: "bert", head: "encoder", ...minilm, maxPositionEmbeddings: 512, numLabels: 0, layerNormEps: 1e-12,
    description: "MiniLM-L6-H384 encoder (the all-MiniLM-L6-v2 architecture), outputs last_hidden_state",
  },
  "tiny-colbert": {
    family: "bert", head: "colbert", ...tiny, maxPositionEmbeddings: 512, numLabels: 0, layerNormEps: 1e-12,
    colbert: { dims: 32, queryMaxLength: 32, docMaxLength: 180 },
    description: "2-layer BERT ColBERT encoder (hidden 128), 32-dim token vectors (tests)",
  },
  "minilm-l12-colbert": {
    family: "bert", head: "colbert", ...minilm, layers: 12, maxPositionEmbeddings: 512, numLabels: 0, layerNormEps: 1e-12,
    colbert: { dims: 96, queryMaxLength: 32, docMaxLength: 300 },
    description: "MiniLM-L12-H384 ColBERT, 96-dim token vectors (the answerai-colbert-small-v1 architecture)",
  },
  "bert-base-colbert": {
    family: "bert", head: "colbert", layers: 12, hidden: 768, heads: 12, intermediate: 3072, maxPositionEmbeddings: 512, numLabels: 0, layerNormEps: 1e-12,
    colbert: { dims: 128, queryMaxLength: 32, docMaxLength: 180 },
    description: "BERT-base ColBERT, 128-dim token vectors (the colbert-ir/colbertv2.0 architecture)",
  },
  "tiny-modernbert": {
    family: "modernbert", head: "sequence-classification", layers: 3, hidden: 128, heads: 2, intermediate: 256, maxPositionEmbeddings: 8192, numLabels: 1, layerNormEps: 1e-5,
    modernbert: { globalEvery: 3, localWindow: 8, globalRopeTheta: 160000, localRopeTheta: 10000, pooling: "mean" },
    description: "3-layer ModernBERT cross-encoder (rotary, GeGLU, global + local attention with an 8-token window, byte-level BPE)",
  },
  "modernbert-base": {
    family: "modernbert", head: "sequence-classification", layers: 22, hidden: 768, heads: 12, intermediate: 1152, maxPositionEmbeddings: 8192, numLabels: 1, layerNormEps: 1e-5,
    modernbert: { globalEvery: 3, localWindow: 128, globalRopeTheta: 160000, localRopeTheta: 10000, pooling: "mean" },
    description: "ModernBERT-base cross-encoder (the gte-reranker-modernbert-base architecture)",
  },
  "xlmr-large": {
    family: "xlmr", head: "sequence-classification", layers: 24, hidden: 1024, heads: 16, intermediate: 4096, maxPositionEmbeddings: 8194, numLabels: 1, layerNormEps: 1e-5,
    description: "XLM-RoBERTa-large cross-encoder (the bge-reranker-v2-m3 architecture; vocabulary of tiny-xlmr)",
  },
  "tiny-qwen3": {
    family: "qwen3", head: "causal-lm", layers: 2, hidden: 128, heads: 4, intermediate: 256, maxPositionEmbeddings: 40960, numLabels: 0, layerNormEps: 1e-6,
    decoder: { kvHeads: 2, headDim: 32, ropeTheta: 1000000, tieEmbeddings: true, rerankTemplate: "qwen3-reranker" },
    description: "2-layer Qwen3-style decoder reranker (RMSNorm, rotary, grouped-query attention, SwiGLU, BPE; yes/no logits)",
  },
  "qwen3-0.6b": {
    family: "qwen3", head: "causal-lm", layers: 28, hidden: 1024, heads: 16, intermediate: 3072, maxPositionEmbeddings: 40960, numLabels: 0, layerNormEps: 1e-6,
    decoder: { kvHeads: 8, headDim: 128, ropeTheta: 1000000, tieEmbeddings: true, rerankTemplate: "qwen3-reranker" },
    description: "Qwen3-0.6B decoder (the Qwen3-Reranker-0.6B architecture; tied embeddings, tiny-qwen3's vocabulary: one 1.9 GB file)",
  },
  "tiny-qwen2": {
    family: "qwen2", head: "causal-lm", layers: 2, hidden: 128, heads: 4, intermediate: 256, maxPositionEmbeddings: 32768, numLabels: 0, layerNormEps: 1e-6,
    decoder: { kvHeads: 2, headDim: 32, ropeTheta: 1000000, tieEmbeddings: true, rerankTemplate: "mxbai-rerank-v2" },
    description: "2-layer Qwen2-style decoder reranker with mxbai-rerank-v2's template (q/k/v biases, no q/k norms)",
  },
} as const satisfies Record<string, ModelPreset>;

export type ModelPresetName = keyof typeof MODEL_PRESETS;

export function isModelPresetName(name: string): name is ModelPresetName {
  return Object.prototype.hasOwnProperty.call(MODEL_PRESETS, name);
}
