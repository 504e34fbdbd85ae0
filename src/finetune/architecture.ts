/**
 * What a model folder's config.json says the network is, for fine-tuning: the family
 * the trainer and Winnow's own ONNX graph builder (src/onnx/bert-graph.ts) both know,
 * the sizes, and every parameter the checkpoint must hold under its Hugging Face name
 * and torch shape. A model type without a graph builder is refused here, before any
 * training, because its result could not be exported.
 */
import { readFile } from "node:fs/promises";
import { WinnowError } from "../core/errors.js";
import { headNames, weightPrefix } from "../onnx/bert-graph.js";
import type { ModelFamily, ModelPreset } from "../onnx/presets.js";

/** config.json model_type → graph-builder family. A new builder is a new row (and a module in the trainer). */
export const FINETUNE_ARCHITECTURES: Readonly<Record<string, ModelFamily>> = {
  bert: "bert",
  "xlm-roberta": "xlmr",
  roberta: "xlmr",
  camembert: "xlmr",
};

export interface FinetuneArchitecture {
  modelType: string;
  family: ModelFamily;
  /** The preset-shaped description buildModel takes. */
  preset: ModelPreset;
  vocabSize: number;
  typeVocabSize: number;
  padTokenId: number;
  /** Every parameter under its Hugging Face name, in torch layout (nn.Linear weights [out, in]). */
  parameters: Array<{ name: string; shape: number[] }>;
  /** What the trainer's job carries (protocol field `architecture`). */
  trainerConfig: Record<string, number | string>;
}

interface HfConfig {
  model_type?: string;
  hidden_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  intermediate_size?: number;
  max_position_embeddings?: number;
  vocab_size?: number;
  type_vocab_size?: number;
  layer_norm_eps?: number;
  num_labels?: number;
  id2label?: Record<string, string>;
  pad_token_id?: number;
  hidden_act?: string;
  position_embedding_type?: string;
}

export async function readArchitecture(configPath: string): Promise<FinetuneArchitecture> {
  let config: HfConfig;
  try {
    config = JSON.parse(await readFile(configPath, "utf8")) as HfConfig;
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `cannot read ${configPath}: ${(err as Error).message}`, { details: { file: configPath }, cause: err });
  }
  return architectureFromConfig(config, configPath);
}

export function architectureFromConfig(config: HfConfig, configPath: string): FinetuneArchitecture {
  const modelType = config.model_type ?? "";
  const family = FINETUNE_ARCHITECTURES[modelType];
  if (family === undefined) {
    throw new WinnowError("CONFIG_INVALID", `${configPath}: model_type "${modelType}" has no Winnow graph builder to export a fine-tuned model (fine-tunable: ${Object.keys(FINETUNE_ARCHITECTURES).join(", ")})`, {
      details: { file: configPath, field: "model_type", value: modelType },
    });
  }
  const need = (field: keyof HfConfig): number => {
    const v = config[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new WinnowError("CONFIG_INVALID", `${configPath}: ${field} must be a positive integer, got ${JSON.stringify(v)}`, { details: { file: configPath, field } });
    }
    return v;
  };
  const hidden = need("hidden_size");
  const heads = need("num_attention_heads");
  if (hidden % heads !== 0) throw new WinnowError("CONFIG_INVALID", `${configPath}: hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`, { details: { file: configPath, field: "num_attention_heads" } });
  if ((config.hidden_act ?? "gelu") !== "gelu") {
    throw new WinnowError("CONFIG_INVALID", `${configPath}: hidden_act "${config.hidden_act}" (the graph builder and trainer implement exact "gelu")`, { details: { file: configPath, field: "hidden_act" } });
  }
  if ((config.position_embedding_type ?? "absolute") !== "absolute") {
    throw new WinnowError("CONFIG_INVALID", `${configPath}: position_embedding_type "${config.position_embedding_type}" (only "absolute" is built)`, { details: { file: configPath, field: "position_embedding_type" } });
  }
  const numLabels = config.num_labels ?? (config.id2label ? Object.keys(config.id2label).length : 1);
  if (numLabels !== 1 && numLabels !== 2) {
    throw new WinnowError("CONFIG_INVALID", `${configPath}: ${numLabels} labels; a reranker has 1 (a logit) or 2 (logit[1] − logit[0])`, { details: { file: configPath, field: "num_labels" } });
  }
  const preset: ModelPreset = {
    family,
    head: "sequence-classification",
    layers: need("num_hidden_layers"),
    hidden,
    heads,
    intermediate: need("intermediate_size"),
    maxPositionEmbeddings: need("max_position_embeddings"),
    numLabels,
    layerNormEps: config.layer_norm_eps ?? 1e-12,
    description: `${modelType} cross-encoder from ${configPath}`,
  };
  const vocabSize = need("vocab_size");
  const typeVocabSize = config.type_vocab_size ?? (family === "xlmr" ? 1 : 2);
  const padTokenId = config.pad_token_id ?? (family === "xlmr" ? 1 : 0);
  return { modelType, family, preset, vocabSize, typeVocabSize, padTokenId, parameters: parameterShapes(preset, vocabSize, typeVocabSize), trainerConfig: trainerConfig(preset, vocabSize, typeVocabSize, padTokenId) };
}

function parameterShapes(preset: ModelPreset, vocabSize: number, typeVocabSize: number): Array<{ name: string; shape: number[] }> {
  const H = preset.hidden;
  const out: Array<{ name: string; shape: number[] }> = [];
  const linear = (name: string, nIn: number, nOut: number) => out.push({ name: `${name}.weight`, shape: [nOut, nIn] }, { name: `${name}.bias`, shape: [nOut] });
  const norm = (name: string) => out.push({ name: `${name}.weight`, shape: [H] }, { name: `${name}.bias`, shape: [H] });
  const p = weightPrefix(preset);
  out.push({ name: `${p}embeddings.word_embeddings.weight`, shape: [vocabSize, H] });
  out.push({ name: `${p}embeddings.position_embeddings.weight`, shape: [preset.maxPositionEmbeddings, H] });
  out.push({ name: `${p}embeddings.token_type_embeddings.weight`, shape: [typeVocabSize, H] });
  norm(`${p}embeddings.LayerNorm`);
  for (let l = 0; l < preset.layers; l++) {
    const L = `${p}encoder.layer.${l}`;
    for (const m of ["query", "key", "value"]) linear(`${L}.attention.self.${m}`, H, H);
    linear(`${L}.attention.output.dense`, H, H);
    norm(`${L}.attention.output.LayerNorm`);
    linear(`${L}.intermediate.dense`, H, preset.intermediate);
    linear(`${L}.output.dense`, preset.intermediate, H);
    norm(`${L}.output.LayerNorm`);
  }
  const { pooler, classifier } = headNames(preset);
  linear(pooler, H, H);
  linear(classifier, H, preset.numLabels);
  return out;
}

function trainerConfig(preset: ModelPreset, vocabSize: number, typeVocabSize: number, padTokenId: number): Record<string, number | string> {
  return {
    family: preset.family,
    layers: preset.layers,
    hidden: preset.hidden,
    heads: preset.heads,
    intermediate: preset.intermediate,
    vocab_size: vocabSize,
    max_position_embeddings: preset.maxPositionEmbeddings,
    type_vocab_size: typeVocabSize,
    layer_norm_eps: preset.layerNormEps,
    num_labels: preset.numLabels,
    pad_token_id: padTokenId,
  };
}

/** nn.Linear weights are [out, in] in torch and [in, out] as the graph's MatMul initializers. */
export function isLinearWeight(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && name.endsWith(".weight") && !name.includes("embeddings.");
}
