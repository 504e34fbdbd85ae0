/**
 * Seeded BERT / XLM-R weights and the ONNX graph that `torch.onnx.export` emits
 * for them (opset 17): embeddings as Gathers, LayerNorm decomposed into
 * ReduceMean/Sub/Pow/Sqrt/Div, attention as MatMul/Reshape/Transpose/Softmax,
 * exact GELU through Erf. The decomposed form is deliberate: it is what real
 * exports contain, so the fusion pass is exercised on the same patterns.
 */
import type { ModelPreset } from "./presets.js";
import { DataType, GraphBuilder, attrInt, attrInts, tensorValueInfo, type ModelProto } from "./onnx-graph.js";
import { SeededRandom } from "../core/seeded-random.js";

export interface Weight {
  dims: number[];
  data: Float32Array;
}
export type WeightMap = Map<string, Weight>;


/** Prefix of the encoder's weight names, as in the Hugging Face checkpoints. */
export function weightPrefix(preset: ModelPreset): string {
  return preset.family === "xlmr" ? "roberta." : "bert.";
}

/**
 * Seeded weights, named as in the HF state dict. Linear weights are stored
 * [in, out] (transposed), the layout torch.onnx.export gives MatMul initializers.
 */
export function createWeights(preset: ModelPreset, vocabSize: number, padTokenId: number, seed: number): WeightMap {
  const rng = new SeededRandom(seed);
  const w: WeightMap = new Map();
  const H = preset.hidden;
  const std = 0.02; // HF initializer_range
  const mat = (name: string, rows: number, cols: number, s = std) => w.set(name, { dims: [rows, cols], data: rng.fill(rows * cols, s) });
  const vec = (name: string, n: number, s = std, mean = 0) => w.set(name, { dims: [n], data: rng.fill(n, s, mean) });
  // Biases and LayerNorm parameters get small random values (HF starts them at 0 and 1)
  // so that a pass that drops or swaps one of them changes the logits measurably.
  const layerNorm = (name: string) => {
    vec(`${name}.weight`, H, 0.1, 1);
    vec(`${name}.bias`, H, 0.02);
  };
  // Linear layers use std 1/sqrt(fan_in) (unit gain), not HF's 0.02: with 0.02 every
  // sublayer adds ~2% to the residual stream, attention is uniform, and the [CLS]
  // vector (hence the score) is nearly the same for every input, so rankings and
  // quantization error would be measured on noise. Unit gain makes the output depend
  // on the input the way a trained model's does; speed does not depend on values.
  const linear = (name: string, nIn: number, nOut: number, s = 1 / Math.sqrt(nIn)) => {
    mat(`${name}.weight`, nIn, nOut, s);
    vec(`${name}.bias`, nOut, 0.02);
  };
  const p = weightPrefix(preset);
  mat(`${p}embeddings.word_embeddings.weight`, vocabSize, H);
  w.get(`${p}embeddings.word_embeddings.weight`)!.data.fill(0, padTokenId * H, (padTokenId + 1) * H);
  mat(`${p}embeddings.position_embeddings.weight`, preset.maxPositionEmbeddings, H);
  if (preset.family === "xlmr") w.get(`${p}embeddings.position_embeddings.weight`)!.data.fill(0, padTokenId * H, (padTokenId + 1) * H);
  mat(`${p}embeddings.token_type_embeddings.weight`, preset.family === "xlmr" ? 1 : 2, H);
  layerNorm(`${p}embeddings.LayerNorm`);
  for (let l = 0; l < preset.layers; l++) {
    const L = `${p}encoder.layer.${l}`;
    linear(`${L}.attention.self.query`, H, H);
    linear(`${L}.attention.self.key`, H, H);
    linear(`${L}.attention.self.value`, H, H);
    linear(`${L}.attention.output.dense`, H, H);
    layerNorm(`${L}.attention.output.LayerNorm`);
    linear(`${L}.intermediate.dense`, H, preset.intermediate);
    linear(`${L}.output.dense`, preset.intermediate, H);
    layerNorm(`${L}.output.LayerNorm`);
  }
  if (preset.head === "sequence-classification") {
    const { pooler, classifier } = headNames(preset);
    linear(pooler, H, H);
    // Scaled up so that logits spread by about one unit across SciFact pairs (a trained
    // cross-encoder spreads by several), enough for calibration and ranking checks.
    linear(classifier, H, preset.numLabels, 4 / Math.sqrt(H));
  }
  return w;
}

/** Names of the [CLS] dense+tanh layer and the output projection. */
export function headNames(preset: ModelPreset): { pooler: string; classifier: string } {
  return preset.family === "xlmr"
    ? { pooler: "classifier.dense", classifier: "classifier.out_proj" }
    : { pooler: "bert.pooler.dense", classifier: "classifier" };
}

export interface GraphOptions {
  padTokenId: number;
  producerName?: string;
}

/** Builds the ONNX model for `preset` over `weights` (see createWeights). */
export function buildModel(preset: ModelPreset, weights: WeightMap, options: GraphOptions): ModelProto {
  const g = new GraphBuilder(["input_ids", "attention_mask", "token_type_ids"]);
  const H = preset.hidden;
  const headDim = H / preset.heads;
  const p = weightPrefix(preset);
  const init = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`internal: weight ${name} missing`);
    return g.float(name, w.dims, w.data);
  };
  const one = g.scalar("const_one", 1);
  const linear = (x: string, name: string) => g.op("Add", [g.op("MatMul", [x, init(`${name}.weight`)]), init(`${name}.bias`)]);
  const epsName = g.scalar("layer_norm_eps", preset.layerNormEps);
  const two = g.scalar("const_two", 2);
  const layerNorm = (x: string, name: string) => {
    const mean = g.op("ReduceMean", [x], [attrInts("axes", [-1])]);
    const centered = g.op("Sub", [x, mean]);
    const variance = g.op("ReduceMean", [g.op("Pow", [centered, two])], [attrInts("axes", [-1])]);
    const std = g.op("Sqrt", [g.op("Add", [variance, epsName])]);
    const normed = g.op("Div", [centered, std]);
    return g.op("Add", [g.op("Mul", [normed, init(`${name}.weight`)]), init(`${name}.bias`)]);
  };

  // Embeddings.
  const words = g.op("Gather", [init(`${p}embeddings.word_embeddings.weight`), "input_ids"]);
  let positionIds: string;
  if (preset.family === "xlmr") {
    // RoBERTa: positions count non-padding tokens from padding_idx + 1 (create_position_ids_from_input_ids).
    const padId = g.int64("padding_idx", [], [options.padTokenId]);
    const notPad = g.op("Cast", [g.op("Not", [g.op("Equal", ["input_ids", padId])])], [attrInt("to", DataType.INT32)]);
    const cumulative = g.op("CumSum", [notPad, g.int64("cumsum_axis", [], [1])]);
    const counted = g.op("Cast", [g.op("Mul", [cumulative, notPad])], [attrInt("to", DataType.INT64)]);
    positionIds = g.op("Add", [counted, padId]);
  } else {
    // BERT: a registered position_ids buffer [1, max_pos] sliced to the sequence length.
    const seqLen = g.op("Gather", [g.op("Shape", ["input_ids"]), g.int64("seq_axis", [1], [1])], [attrInt("axis", 0)]);
    const table = g.int64("position_ids", [1, preset.maxPositionEmbeddings], Array.from({ length: preset.maxPositionEmbeddings }, (_, i) => i));
    positionIds = g.op("Slice", [table, g.int64("slice_start", [1], [0]), seqLen, g.int64("slice_axis", [1], [1])]);
  }
  const positions = g.op("Gather", [init(`${p}embeddings.position_embeddings.weight`), positionIds]);
  let tokenTypes: string;
  if (preset.family === "xlmr") {
    // No token_type_ids input: every token uses row 0 of the (1-row) table.
    const zeros = g.op("Mul", ["input_ids", g.int64("const_zero_i64", [], [0])]);
    tokenTypes = g.op("Gather", [init(`${p}embeddings.token_type_embeddings.weight`), zeros]);
  } else {
    tokenTypes = g.op("Gather", [init(`${p}embeddings.token_type_embeddings.weight`), "token_type_ids"]);
  }
  let hidden = layerNorm(g.op("Add", [g.op("Add", [words, tokenTypes]), positions]), `${p}embeddings.LayerNorm`);

  // Extended attention mask: (1 - mask[:, None, None, :]) * finfo(float32).min.
  const maskFloat = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.int64("mask_axes", [2], [1, 2])])], [attrInt("to", DataType.FLOAT)]);
  const maskBias = g.op("Mul", [g.op("Sub", [one, maskFloat]), g.scalar("mask_fill", -3.4028234663852886e38)]);

  const headShape = g.int64("shape_heads", [4], [0, 0, preset.heads, headDim]);
  const mergedShape = g.int64("shape_hidden", [3], [0, 0, H]);
  const scale = g.scalar("attention_scale", Math.sqrt(headDim));
  const sqrt2 = g.scalar("const_sqrt2", Math.SQRT2);
  const half = g.scalar("const_half", 0.5);
  for (let l = 0; l < preset.layers; l++) {
    const L = `${p}encoder.layer.${l}`;
    const q = g.op("Transpose", [g.op("Reshape", [linear(hidden, `${L}.attention.self.query`), headShape])], [attrInts("perm", [0, 2, 1, 3])]);
    const k = g.op("Transpose", [g.op("Reshape", [linear(hidden, `${L}.attention.self.key`), headShape])], [attrInts("perm", [0, 2, 3, 1])]);
    const v = g.op("Transpose", [g.op("Reshape", [linear(hidden, `${L}.attention.self.value`), headShape])], [attrInts("perm", [0, 2, 1, 3])]);
    const scores = g.op("Add", [g.op("Div", [g.op("MatMul", [q, k]), scale]), maskBias]);
    const probs = g.op("Softmax", [scores], [attrInt("axis", -1)]);
    const context = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], [attrInts("perm", [0, 2, 1, 3])]), mergedShape]);
    const attnOut = layerNorm(g.op("Add", [linear(context, `${L}.attention.output.dense`), hidden]), `${L}.attention.output.LayerNorm`);
    const inter = linear(attnOut, `${L}.intermediate.dense`);
    // Exact GELU as HF exports it: x * 0.5 * (1 + erf(x / sqrt(2))).
    const gelu = g.op("Mul", [g.op("Mul", [inter, g.op("Add", [g.op("Erf", [g.op("Div", [inter, sqrt2])]), one])]), half]);
    hidden = layerNorm(g.op("Add", [linear(gelu, `${L}.output.dense`), attnOut]), `${L}.output.LayerNorm`);
  }

  const inputs = [
    tensorValueInfo("input_ids", DataType.INT64, ["batch_size", "sequence_length"]),
    tensorValueInfo("attention_mask", DataType.INT64, ["batch_size", "sequence_length"]),
  ];
  if (preset.family === "bert") inputs.push(tensorValueInfo("token_type_ids", DataType.INT64, ["batch_size", "sequence_length"]));
  let outputs;
  if (preset.head === "sequence-classification") {
    const { pooler, classifier } = headNames(preset);
    const cls = g.op("Gather", [hidden, g.int64("cls_index", [], [0])], [attrInt("axis", 1)]);
    const pooled = g.op("Tanh", [linear(cls, pooler)]);
    g.node("Add", [g.op("MatMul", [pooled, init(`${classifier}.weight`)]), init(`${classifier}.bias`)], ["logits"]);
    outputs = [tensorValueInfo("logits", DataType.FLOAT, ["batch_size", preset.numLabels])];
  } else {
    g.node("Identity", [hidden], ["last_hidden_state"]);
    outputs = [tensorValueInfo("last_hidden_state", DataType.FLOAT, ["batch_size", "sequence_length", H])];
  }
  return {
    irVersion: 8,
    producerName: options.producerName ?? "winnow-generate",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "main_graph", node: g.nodes, initializer: g.initializers, input: inputs, output: outputs },
  };
}
