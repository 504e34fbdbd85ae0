/**
 * Seeded ModernBERT weights and the graph optimum exports for
 * ModernBertForSequenceClassification (opset 17): no token types and no position
 * table; rotary positions (rotate_half) with one base for global layers and another for
 * local ones; every `globalEvery`-th layer attends globally, the others within a window of
 * ±localWindow/2 tokens; pre-norm LayerNorms without biases (layer 0 has no attention
 * norm); GeGLU MLP (exact GELU); a dense+GELU+LayerNorm head over mean or [CLS] pooling.
 */
import type { ModelPreset } from "./presets.js";
import { DataType, GraphBuilder, attrInt, attrInts, tensorValueInfo, type ModelProto } from "./onnx-graph.js";
import { SeededRandom } from "../core/seeded-random.js";
import type { WeightMap } from "./bert-graph.js";

/** Whether layer `l` attends globally (ModernBERT: layer_id % global_attn_every_n_layers == 0). */
export function isGlobalLayer(l: number, globalEvery: number): boolean {
  return l % globalEvery === 0;
}

export function createModernBertWeights(preset: ModelPreset, vocabRows: number, padTokenId: number, seed: number): WeightMap {
  const rng = new SeededRandom(seed);
  const w: WeightMap = new Map();
  const H = preset.hidden;
  const mat = (name: string, rows: number, cols: number, std: number) => w.set(name, { dims: [rows, cols], data: rng.fill(rows * cols, std) });
  const norm = (name: string) => w.set(name, { dims: [H], data: rng.fill(H, 0.1, 1) });
  const linear = (name: string, nIn: number, nOut: number) => mat(name, nIn, nOut, 1 / Math.sqrt(nIn));
  mat("model.embeddings.tok_embeddings.weight", vocabRows, H, 1);
  w.get("model.embeddings.tok_embeddings.weight")!.data.fill(0, padTokenId * H, (padTokenId + 1) * H);
  norm("model.embeddings.norm.weight");
  for (let l = 0; l < preset.layers; l++) {
    const L = `model.layers.${l}`;
    if (l > 0) norm(`${L}.attn_norm.weight`);
    linear(`${L}.attn.Wqkv.weight`, H, 3 * H);
    linear(`${L}.attn.Wo.weight`, H, H);
    norm(`${L}.mlp_norm.weight`);
    linear(`${L}.mlp.Wi.weight`, H, 2 * preset.intermediate);
    linear(`${L}.mlp.Wo.weight`, preset.intermediate, H);
  }
  norm("model.final_norm.weight");
  linear("head.dense.weight", H, H);
  norm("head.norm.weight");
  mat("classifier.weight", H, preset.numLabels, 4 / Math.sqrt(H));
  w.set("classifier.bias", { dims: [preset.numLabels], data: rng.fill(preset.numLabels, 0.02) });
  return w;
}

export function buildModernBertModel(preset: ModelPreset, weights: WeightMap, options: { producerName?: string } = {}): ModelProto {
  const mb = preset.modernbert;
  if (!mb) throw new Error("internal: preset is not ModernBERT");
  const g = new GraphBuilder(["input_ids", "attention_mask", "logits"]);
  const H = preset.hidden;
  const d = H / preset.heads;
  const init = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`internal: weight ${name} missing`);
    return g.float(name, w.dims, w.data);
  };
  const matmul = (x: string, name: string) => g.op("MatMul", [x, init(name)]);
  const eps = g.scalar("norm_eps", preset.layerNormEps);
  const two = g.scalar("const_two", 2);
  const one = g.scalar("const_one", 1);
  const half = g.scalar("const_half", 0.5);
  const sqrt2 = g.scalar("const_sqrt2", Math.SQRT2);
  const layerNorm = (x: string, weight: string) => {
    const mean = g.op("ReduceMean", [x], [attrInts("axes", [-1])]);
    const centered = g.op("Sub", [x, mean]);
    const variance = g.op("ReduceMean", [g.op("Pow", [centered, two])], [attrInts("axes", [-1])]);
    return g.op("Mul", [g.op("Div", [centered, g.op("Sqrt", [g.op("Add", [variance, eps])])]), init(weight)]);
  };
  const gelu = (x: string) => g.op("Mul", [g.op("Mul", [x, g.op("Add", [g.op("Erf", [g.op("Div", [x, sqrt2])]), one])]), half]);

  const seq = g.op("Gather", [g.op("Shape", ["input_ids"]), g.int64("seq_axis", [], [1])], [attrInt("axis", 0)]);
  const zero = g.int64("const_zero_i64", [], [0]);
  const oneI = g.int64("const_one_i64", [], [1]);
  const positions = g.op("Range", [zero, seq, oneI]); // [s]
  const posF = g.op("Cast", [g.op("Unsqueeze", [positions, g.int64("pos_axis", [1], [1])])], [attrInt("to", DataType.FLOAT)]); // [s, 1]
  const tables = new Map<number, { cos: string; sin: string }>();
  const ropeTables = (theta: number) => {
    let t = tables.get(theta);
    if (!t) {
      const invFreq = Float32Array.from({ length: d / 2 }, (_, i) => 1 / Math.pow(theta, (2 * i) / d));
      const freqs = g.op("Mul", [posF, g.float(`rope_inv_freq_${theta}`, [d / 2], invFreq)]);
      const emb = g.op("Concat", [freqs, freqs], [attrInt("axis", -1)]); // [s, d]
      t = { cos: g.op("Cos", [emb]), sin: g.op("Sin", [emb]) };
      tables.set(theta, t);
    }
    return t;
  };
  const halves = g.int64("rope_halves", [2], [d / 2, d / 2]);
  const rotary = (x: string, t: { cos: string; sin: string }) => {
    const [x1, x2] = g.node("Split", [x, halves], 2, [attrInt("axis", -1)]);
    return g.op("Add", [g.op("Mul", [x, t.cos]), g.op("Mul", [g.op("Concat", [g.op("Neg", [x2]), x1], [attrInt("axis", -1)]), t.sin])]);
  };

  const padding = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.int64("mask_axes", [2], [1, 2])])], [attrInt("to", DataType.BOOL)]); // [b, 1, 1, s]
  // Local layers: |i − j| ≤ localWindow / 2, as ModernBERT's sliding-window mask.
  const offsets = g.op("Sub", [g.op("Unsqueeze", [positions, g.int64("row_axis", [1], [1])]), g.op("Unsqueeze", [positions, g.int64("col_axis", [1], [0])])]);
  const window = g.op("LessOrEqual", [g.op("Abs", [offsets]), g.int64("local_half_window", [], [Math.floor(mb.localWindow / 2)])]); // [s, s]
  const localAllowed = g.op("And", [padding, window]);
  const minFill = g.scalar("mask_fill", -3.4028234663852886e38);
  const scale = g.scalar("attention_scale", Math.sqrt(d));
  const qkvShape = g.int64("shape_qkv", [5], [0, 0, 3, preset.heads, d]);
  const mergedShape = g.int64("shape_merged", [3], [0, 0, H]);
  const perm = [attrInts("perm", [0, 2, 1, 3])];

  let hidden = layerNorm(g.op("Gather", [init("model.embeddings.tok_embeddings.weight"), "input_ids"]), "model.embeddings.norm.weight");
  for (let l = 0; l < preset.layers; l++) {
    const L = `model.layers.${l}`;
    const global = isGlobalLayer(l, mb.globalEvery);
    const x = l === 0 ? hidden : layerNorm(hidden, `${L}.attn_norm.weight`);
    const qkv = g.op("Reshape", [matmul(x, `${L}.attn.Wqkv.weight`), qkvShape]); // [b, s, 3, h, d]
    const part = (i: number) => g.op("Transpose", [g.op("Gather", [qkv, g.int64(`qkv_index_${l}_${i}`, [], [i])], [attrInt("axis", 2)])], perm); // [b, h, s, d]
    const t = ropeTables(global ? mb.globalRopeTheta : mb.localRopeTheta);
    const q = rotary(part(0), t);
    const k = rotary(part(1), t);
    const v = part(2);
    const scores = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], [attrInts("perm", [0, 1, 3, 2])])]), scale]);
    const probs = g.op("Softmax", [g.op("Where", [global ? padding : localAllowed, scores, minFill])], [attrInt("axis", -1)]);
    const ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm), mergedShape]);
    hidden = g.op("Add", [hidden, matmul(ctx, `${L}.attn.Wo.weight`)]);
    const [input, gate] = g.node("Split", [matmul(layerNorm(hidden, `${L}.mlp_norm.weight`), `${L}.mlp.Wi.weight`), g.int64(`mlp_halves_${l}`, [2], [preset.intermediate, preset.intermediate])], 2, [attrInt("axis", -1)]);
    hidden = g.op("Add", [hidden, matmul(g.op("Mul", [gelu(input), gate]), `${L}.mlp.Wo.weight`)]);
  }
  hidden = layerNorm(hidden, "model.final_norm.weight");
  let pooled: string;
  if (mb.pooling === "cls") pooled = g.op("Gather", [hidden, g.int64("cls_index", [], [0])], [attrInt("axis", 1)]);
  else {
    const m = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.int64("pool_axis", [1], [-1])])], [attrInt("to", DataType.FLOAT)]); // [b, s, 1]
    const sum = g.op("ReduceSum", [g.op("Mul", [hidden, m]), g.int64("pool_reduce_axis", [1], [1])], [attrInt("keepdims", 0)]);
    pooled = g.op("Div", [sum, g.op("ReduceSum", [m, g.int64("pool_count_axis", [1], [1])], [attrInt("keepdims", 0)])]);
  }
  const headed = layerNorm(gelu(matmul(pooled, "head.dense.weight")), "head.norm.weight");
  g.node("Add", [matmul(headed, "classifier.weight"), init("classifier.bias")], ["logits"]);
  return {
    irVersion: 8,
    producerName: options.producerName ?? "winnow-generate",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "main_graph",
      node: g.nodes,
      initializer: g.initializers,
      input: [tensorValueInfo("input_ids", DataType.INT64, ["batch_size", "sequence_length"]), tensorValueInfo("attention_mask", DataType.INT64, ["batch_size", "sequence_length"])],
      output: [tensorValueInfo("logits", DataType.FLOAT, ["batch_size", preset.numLabels])],
    },
  };
}
