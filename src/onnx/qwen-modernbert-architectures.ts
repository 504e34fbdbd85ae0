/**
 * The generator's newer architectures (ModernBERT, Qwen2/Qwen3 decoders): tokenizer
 * files, config.json and the ONNX model for a preset, so generate.ts writes them like
 * its BERT / XLM-R folders. config.json carries what the loaders read (model_type,
 * sizes, rotary bases, `rerank_template` for decoders).
 */
import type { ModelPreset } from "./presets.js";
import type { ModelProto } from "./onnx-graph.js";
import type { TokenizerFiles } from "./tokenizer-files.js";
import type { WeightMap } from "./bert-graph.js";
import { qwenTokenizerFiles } from "./qwen-tokenizer.js";
import { modernBertTokenizerFiles } from "./modernbert-tokenizer.js";
import { buildDecoderModel, createDecoderWeights, decoderShape } from "./qwen-graph.js";
import { buildModernBertModel, createModernBertWeights } from "./modernbert-graph.js";

export interface GeneratedArchitecture {
  tokenizer: TokenizerFiles;
  config: Record<string, unknown>;
  model: ModelProto;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The folder contents for a ModernBERT or decoder preset; undefined for the BERT / XLM-R families. */
export function newArchitecture(name: string, preset: ModelPreset, seed: number, weights?: WeightMap): GeneratedArchitecture | undefined {
  if (preset.family === "modernbert" && preset.modernbert) {
    const tokenizer = modernBertTokenizerFiles(preset.maxPositionEmbeddings);
    // ModernBERT pads its embedding table to a multiple of 64 rows (50368 for 50280 pieces + specials).
    const rows = roundUp(tokenizer.vocabSize, 64);
    const mb = preset.modernbert;
    const config = {
      _name_or_path: `winnow-generated/${name}`,
      architectures: ["ModernBertForSequenceClassification"],
      model_type: "modernbert",
      hidden_size: preset.hidden,
      intermediate_size: preset.intermediate,
      num_hidden_layers: preset.layers,
      num_attention_heads: preset.heads,
      max_position_embeddings: preset.maxPositionEmbeddings,
      norm_eps: preset.layerNormEps,
      norm_bias: false,
      global_attn_every_n_layers: mb.globalEvery,
      local_attention: mb.localWindow,
      global_rope_theta: mb.globalRopeTheta,
      local_rope_theta: mb.localRopeTheta,
      hidden_activation: "gelu",
      classifier_activation: "gelu",
      classifier_pooling: mb.pooling,
      classifier_bias: false,
      attention_bias: false,
      mlp_bias: false,
      vocab_size: rows,
      pad_token_id: tokenizer.padTokenId,
      cls_token_id: tokenizer.padTokenId - 2,
      sep_token_id: tokenizer.padTokenId - 1,
      num_labels: preset.numLabels,
      id2label: { "0": "LABEL_0" },
      label2id: { LABEL_0: 0 },
      torch_dtype: "float32",
    };
    const w = weights ?? createModernBertWeights(preset, rows, tokenizer.padTokenId, seed);
    return { tokenizer, config, model: buildModernBertModel(preset, w) };
  }
  if ((preset.family === "qwen3" || preset.family === "qwen2") && preset.decoder) {
    const tokenizer = qwenTokenizerFiles(preset.maxPositionEmbeddings);
    // Qwen's embedding tables have more rows than the tokenizer has pieces (151936 for 151669).
    const rows = roundUp(tokenizer.vocabSize, 128);
    const shape = decoderShape(preset, rows);
    const d = preset.decoder;
    const qwen3 = preset.family === "qwen3";
    const config = {
      _name_or_path: `winnow-generated/${name}`,
      architectures: [qwen3 ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM"],
      model_type: preset.family,
      hidden_size: preset.hidden,
      intermediate_size: preset.intermediate,
      num_hidden_layers: preset.layers,
      num_attention_heads: preset.heads,
      num_key_value_heads: d.kvHeads,
      ...(qwen3 ? { head_dim: d.headDim, attention_bias: false } : {}),
      hidden_act: "silu",
      max_position_embeddings: preset.maxPositionEmbeddings,
      rms_norm_eps: preset.layerNormEps,
      rope_theta: d.ropeTheta,
      rope_scaling: null,
      tie_word_embeddings: d.tieEmbeddings,
      vocab_size: rows,
      bos_token_id: tokenizer.padTokenId,
      eos_token_id: tokenizer.padTokenId,
      use_cache: true,
      torch_dtype: "float32",
      // Which documented reranker prompt this checkpoint was trained with (see decoder-template.ts).
      rerank_template: d.rerankTemplate,
    };
    const w = weights ?? createDecoderWeights(shape, seed);
    return { tokenizer, config, model: buildDecoderModel(shape, w, { eps: preset.layerNormEps, ropeTheta: d.ropeTheta }) };
  }
  return undefined;
}
