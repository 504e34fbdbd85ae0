/**
 * Seeded Qwen2/Qwen3 decoder weights and the ONNX graph the community exports have
 * (optimum / onnx-community, opset 17): inputs input_ids, attention_mask [batch, past +
 * seq], position_ids and past_key_values.{l}.key/value [batch, kv_heads, past, head_dim];
 * outputs logits [batch, seq, vocab] and present.{l}.key/value. RMSNorm, rotary
 * (rotate_half), grouped-query attention, SwiGLU, decomposed as torch.onnx.export emits them.
 * Qwen3 normalizes q and k per head (q_norm, k_norm) and has no q/k/v biases; Qwen2 has
 * the biases and no norms. A reranker feeds empty caches (past = 0): see decoder-session.ts.
 */
import type { ModelPreset } from "./presets.js";
import { DataType, GraphBuilder, attrInt, attrInts, tensorValueInfo, type ModelProto } from "./onnx-graph.js";
import { SeededRandom } from "../core/seeded-random.js";
import type { WeightMap } from "./bert-graph.js";

export interface DecoderShape {
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocabRows: number;
  qkNorm: boolean;
  qkvBias: boolean;
  tieEmbeddings: boolean;
}

export function decoderShape(preset: ModelPreset, vocabRows: number): DecoderShape {
  const d = preset.decoder;
  if (!d) throw new Error(`internal: preset is not a decoder`);
  return {
    layers: preset.layers,
    hidden: preset.hidden,
    heads: preset.heads,
    kvHeads: d.kvHeads,
    headDim: d.headDim,
    intermediate: preset.intermediate,
    vocabRows,
    qkNorm: preset.family === "qwen3",
    qkvBias: preset.family === "qwen2",
    tieEmbeddings: d.tieEmbeddings,
  };
}

/** Weights named as in the HF state dict (linear weights [in, out]); lm_head only when untied. */
export function createDecoderWeights(s: DecoderShape, seed: number): WeightMap {
  const rng = new SeededRandom(seed);
  const w: WeightMap = new Map();
  const H = s.hidden;
  const mat = (name: string, rows: number, cols: number, std: number) => w.set(name, { dims: [rows, cols], data: rng.fill(rows * cols, std) });
  const vec = (name: string, n: number, std: number, mean = 0) => w.set(name, { dims: [n], data: rng.fill(n, std, mean) });
  // Unit-gain linear layers and non-trivial norm weights, as in bert-graph.ts: outputs then
  // depend on the input the way a trained model's do, and a dropped or swapped weight shows.
  const linear = (name: string, nIn: number, nOut: number, bias: boolean) => {
    mat(`${name}.weight`, nIn, nOut, 1 / Math.sqrt(nIn));
    if (bias) vec(`${name}.bias`, nOut, 0.02);
  };
  // Embedding rows of norm ~1 (std 1/sqrt(H)), so tied logits stay in a trained model's range.
  mat("model.embed_tokens.weight", s.vocabRows, H, 1 / Math.sqrt(H));
  for (let l = 0; l < s.layers; l++) {
    const L = `model.layers.${l}`;
    vec(`${L}.input_layernorm.weight`, H, 0.1, 1);
    linear(`${L}.self_attn.q_proj`, H, s.heads * s.headDim, s.qkvBias);
    linear(`${L}.self_attn.k_proj`, H, s.kvHeads * s.headDim, s.qkvBias);
    linear(`${L}.self_attn.v_proj`, H, s.kvHeads * s.headDim, s.qkvBias);
    if (s.qkNorm) {
      vec(`${L}.self_attn.q_norm.weight`, s.headDim, 0.1, 1);
      vec(`${L}.self_attn.k_norm.weight`, s.headDim, 0.1, 1);
    }
    linear(`${L}.self_attn.o_proj`, s.heads * s.headDim, H, false);
    vec(`${L}.post_attention_layernorm.weight`, H, 0.1, 1);
    linear(`${L}.mlp.gate_proj`, H, s.intermediate, false);
    linear(`${L}.mlp.up_proj`, H, s.intermediate, false);
    linear(`${L}.mlp.down_proj`, s.intermediate, H, false);
  }
  vec("model.norm.weight", H, 0.1, 1);
  // Scaled so the label logits spread by a few units across inputs, as a trained reranker's do.
  if (!s.tieEmbeddings) mat("lm_head.weight", H, s.vocabRows, 4 / Math.sqrt(H));
  return w;
}

export interface DecoderGraphOptions {
  eps: number;
  ropeTheta: number;
  producerName?: string;
}

export function pastName(layer: number, kind: "key" | "value"): string {
  return `past_key_values.${layer}.${kind}`;
}
export function presentName(layer: number, kind: "key" | "value"): string {
  return `present.${layer}.${kind}`;
}

export function buildDecoderModel(s: DecoderShape, weights: WeightMap, options: DecoderGraphOptions): ModelProto {
  const reserved = ["input_ids", "attention_mask", "position_ids", "logits"];
  for (let l = 0; l < s.layers; l++) for (const k of ["key", "value"] as const) reserved.push(pastName(l, k), presentName(l, k));
  const g = new GraphBuilder(reserved);
  const d = s.headDim;
  const nRep = s.heads / s.kvHeads;
  const added = new Map<string, string>();
  // The tied embedding is read twice (Gather and lm_head): one initializer.
  const init = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`internal: weight ${name} missing`);
    let id = added.get(name);
    if (id === undefined) added.set(name, (id = g.float(name, w.dims, w.data)));
    return id;
  };
  const linear = (x: string, name: string, bias: boolean) => {
    const y = g.op("MatMul", [x, init(`${name}.weight`)]);
    return bias ? g.op("Add", [y, init(`${name}.bias`)]) : y;
  };
  const eps = g.scalar("rms_norm_eps", options.eps);
  const two = g.scalar("const_two", 2);
  const one = g.scalar("const_one", 1);
  const rmsNorm = (x: string, weight: string) => {
    const variance = g.op("ReduceMean", [g.op("Pow", [x, two])], [attrInts("axes", [-1])]);
    const inv = g.op("Div", [one, g.op("Sqrt", [g.op("Add", [variance, eps])])]);
    return g.op("Mul", [init(weight), g.op("Mul", [x, inv])]);
  };

  // Rotary tables from position_ids: emb = cat(freqs, freqs), freqs = pos × inv_freq.
  const invFreq = Float32Array.from({ length: d / 2 }, (_, i) => 1 / Math.pow(options.ropeTheta, (2 * i) / d));
  const posF = g.op("Cast", [g.op("Unsqueeze", ["position_ids", g.int64("rope_axis", [1], [-1])])], [attrInt("to", DataType.FLOAT)]);
  const freqs = g.op("Mul", [posF, g.float("rope_inv_freq", [d / 2], invFreq)]);
  const emb = g.op("Concat", [freqs, freqs], [attrInt("axis", -1)]);
  const headAxis = g.int64("rope_head_axis", [1], [1]);
  const cos = g.op("Unsqueeze", [g.op("Cos", [emb]), headAxis]); // [b, 1, s, d]
  const sin = g.op("Unsqueeze", [g.op("Sin", [emb]), headAxis]);
  const halves = g.int64("rope_halves", [2], [d / 2, d / 2]);
  const rotary = (x: string) => {
    const [x1, x2] = g.node("Split", [x, halves], 2, [attrInt("axis", -1)]);
    const rotated = g.op("Concat", [g.op("Neg", [x2]), x1], [attrInt("axis", -1)]);
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotated, sin])]);
  };

  // Mask: key j is visible to query i (absolute position past + i) when j ≤ past + i and
  // attention_mask[j] is 1. Masked scores are set to float32's minimum with Where (not
  // added), so fully masked rows (left padding) stay finite instead of NaN.
  const total = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.int64("total_axis", [], [1])], [attrInt("axis", 0)]);
  const seq = g.op("Gather", [g.op("Shape", ["input_ids"]), g.int64("seq_axis", [], [1])], [attrInt("axis", 0)]);
  const past = g.op("Sub", [total, seq]);
  const oneI = g.int64("const_one_i64", [], [1]);
  const queryPos = g.op("Range", [past, total, oneI]);
  const keyPos = g.op("Range", [g.int64("const_zero_i64", [], [0]), total, oneI]);
  const causal = g.op("LessOrEqual", [g.op("Unsqueeze", [keyPos, g.int64("key_axis", [1], [0])]), g.op("Unsqueeze", [queryPos, g.int64("query_axis", [1], [1])])]); // [s, T]
  const padding = g.op("Cast", [g.op("Unsqueeze", ["attention_mask", g.int64("mask_axes", [3], [1, 2, 3])])], [attrInt("to", DataType.BOOL)]); // [b, 1, 1, 1, T]
  const allowed = g.op("And", [causal, padding]); // [b, 1, 1, s, T]
  const minFill = g.scalar("mask_fill", -3.4028234663852886e38);
  const scale = g.scalar("attention_scale", Math.sqrt(d));

  let hidden = g.op("Gather", [init("model.embed_tokens.weight"), "input_ids"]);
  const qShape = g.int64("shape_q", [4], [0, 0, s.heads, d]);
  const kvShape = g.int64("shape_kv", [4], [0, 0, s.kvHeads, d]);
  const groupShape = g.int64("shape_group", [5], [0, s.kvHeads, nRep, -1, d]);
  const groupAxis = g.int64("group_axis", [1], [2]);
  const headsShape = g.int64("shape_heads_back", [4], [0, s.heads, -1, d]);
  const mergedShape = g.int64("shape_merged", [3], [0, 0, s.heads * d]);
  const inputs = [
    tensorValueInfo("input_ids", DataType.INT64, ["batch_size", "sequence_length"]),
    tensorValueInfo("attention_mask", DataType.INT64, ["batch_size", "total_sequence_length"]),
    tensorValueInfo("position_ids", DataType.INT64, ["batch_size", "sequence_length"]),
  ];
  const outputs = [tensorValueInfo("logits", DataType.FLOAT, ["batch_size", "sequence_length", s.vocabRows])];
  for (let l = 0; l < s.layers; l++) {
    const L = `model.layers.${l}`;
    const x = rmsNorm(hidden, `${L}.input_layernorm.weight`);
    let q = g.op("Reshape", [linear(x, `${L}.self_attn.q_proj`, s.qkvBias), qShape]); // [b, s, h, d]
    let k = g.op("Reshape", [linear(x, `${L}.self_attn.k_proj`, s.qkvBias), kvShape]);
    const v0 = g.op("Reshape", [linear(x, `${L}.self_attn.v_proj`, s.qkvBias), kvShape]);
    if (s.qkNorm) {
      q = rmsNorm(q, `${L}.self_attn.q_norm.weight`);
      k = rmsNorm(k, `${L}.self_attn.k_norm.weight`);
    }
    const perm = [attrInts("perm", [0, 2, 1, 3])];
    q = rotary(g.op("Transpose", [q], perm)); // [b, h, s, d]
    k = rotary(g.op("Transpose", [k], perm)); // [b, kvh, s, d]
    const v = g.op("Transpose", [v0], perm);
    const keys = g.node("Concat", [pastName(l, "key"), k], [presentName(l, "key")], [attrInt("axis", 2)])[0]; // [b, kvh, T, d]
    const values = g.node("Concat", [pastName(l, "value"), v], [presentName(l, "value")], [attrInt("axis", 2)])[0];
    // Grouped-query attention without copying K/V: heads h = kv × nRep + r share kv head kv,
    // so q regroups as [b, kvh, nRep, s, d] against keys [b, kvh, 1, T, d] (MatMul broadcasts).
    const qGrouped = g.op("Reshape", [q, groupShape]);
    const keysT = g.op("Unsqueeze", [g.op("Transpose", [keys], [attrInts("perm", [0, 1, 3, 2])]), groupAxis]); // [b, kvh, 1, d, T]
    const scores = g.op("Div", [g.op("MatMul", [qGrouped, keysT]), scale]); // [b, kvh, nRep, s, T]
    const probs = g.op("Softmax", [g.op("Where", [allowed, scores, minFill])], [attrInt("axis", -1)]);
    const ctxGrouped = g.op("MatMul", [probs, g.op("Unsqueeze", [values, groupAxis])]); // [b, kvh, nRep, s, d]
    const ctx = g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [ctxGrouped, headsShape])], perm), mergedShape]);
    hidden = g.op("Add", [hidden, linear(ctx, `${L}.self_attn.o_proj`, false)]);
    const y = rmsNorm(hidden, `${L}.post_attention_layernorm.weight`);
    const gate = linear(y, `${L}.mlp.gate_proj`, false);
    const silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])]);
    hidden = g.op("Add", [hidden, linear(g.op("Mul", [silu, linear(y, `${L}.mlp.up_proj`, false)]), `${L}.mlp.down_proj`, false)]);
    for (const kind of ["key", "value"] as const) {
      inputs.push(tensorValueInfo(pastName(l, kind), DataType.FLOAT, ["batch_size", s.kvHeads, "past_sequence_length", d]));
      outputs.push(tensorValueInfo(presentName(l, kind), DataType.FLOAT, ["batch_size", s.kvHeads, "total_sequence_length", d]));
    }
  }
  const normed = rmsNorm(hidden, "model.norm.weight");
  const head = s.tieEmbeddings ? g.op("Transpose", [init("model.embed_tokens.weight")], [attrInts("perm", [1, 0])]) : init("lm_head.weight");
  g.node("MatMul", [normed, head], ["logits"]);
  return {
    irVersion: 8,
    producerName: options.producerName ?? "winnow-generate",
    producerVersion: "1",
    opsetImport: [{ domain: "", version: 17 }],
    graph: { name: "main_graph", node: g.nodes, initializer: g.initializers, input: inputs, output: outputs },
  };
}
