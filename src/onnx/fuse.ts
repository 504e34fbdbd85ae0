/**
 * Transformer graph fusion: the rewrites of ONNX Runtime's Python transformer
 * optimizer (onnxruntime/python/tools/transformers/fusion_layernorm.py,
 * fusion_gelu.py, fusion_biasgelu.py, fusion_skiplayernorm.py,
 * fusion_attention.py, fusion_embedlayer.py) for BERT / RoBERTa / XLM-R exports.
 * ONNX Runtime's own session optimizations do not perform these on such graphs.
 *
 * Patterns are matched on graph structure and constant values, never on node or
 * tensor names. Each fusion replaces the producer of a pattern's output tensor by
 * the fused node; the pattern's other nodes are left for dead-code elimination,
 * so an intermediate that is used elsewhere keeps its producer and the rewrite
 * stays correct.
 */
import { WinnowError } from "../core/errors.js";
import {
  DataType,
  MS_DOMAIN,
  attrFloat,
  attrInt,
  ensureOpsetImport,
  floatTensor,
  getFloatAttr,
  getIntAttr,
  onnx,
  getIntsAttr,
  loadModel,
  saveModel,
  tensorDims,
  tensorValues,
  floatValues,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from "./onnx-graph.js";

export interface FusionReport {
  layerNorm: number;
  gelu: number;
  biasGelu: number;
  skipLayerNorm: number;
  attention: number;
  /** Attention cores rewritten to MultiHeadAttention (attention: "multihead", "multihead-unpadded", "flash-when-unpadded"). */
  multiHeadAttention: number;
  embedLayerNorm: number;
}

export interface FuseOptions {
  /**
   * How to fuse attention (default true):
   * - true: com.microsoft `Attention` with packed Q/K/V weights (fp32 projections only;
   *   quantizing afterwards turns it into `QAttention`);
   * - "multihead": `MultiHeadAttention` over the Q/K/V projections as they are (also after
   *   int8 quantization), keeping the padding mask as `key_padding_mask`;
   * - "multihead-unpadded": the same without the mask, so that ONNX Runtime's CPU kernel
   *   takes its flash-attention path (it has none for masked attention). The graph then
   *   ignores `attention_mask`: valid only for batches without padding (one pair, or pairs
   *   of equal length);
   * - "flash-when-unpadded": each attention core becomes `If(every attention_mask entry is 1)`:
   *   then mask-free `MultiHeadAttention` (the flash kernel), else the core as exported.
   *   Correct for any batch, one graph, one copy of the weights;
   * - false: leave attention as it is.
   */
  attention?: boolean | "multihead" | "multihead-unpadded" | "flash-when-unpadded";
  /** Fuse decomposed LayerNorm into LayerNormalization and erf-GELU into Gelu (default true). */
  layerNormAndGelu?: boolean;
  /** Fuse the embedding Gathers + LayerNorm into EmbedLayerNormalization (default true). */
  embedLayerNorm?: boolean;
  /** Fuse residual Add + LayerNormalization into SkipLayerNormalization (default true). */
  skipLayerNorm?: boolean;
  /** Fuse Gelu(x + bias) into BiasGelu (default true). */
  biasGelu?: boolean;
}

/** Producer/consumer index over the current node list, plus constant lookup. */
class GraphIndex {
  readonly producer = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly inits: Map<string, TensorProto>;
  readonly graphInputs: Set<string>;
  readonly graphOutputs: Set<string>;

  constructor(
    readonly nodes: NodeProto[],
    graph: GraphProto,
    inits: Map<string, TensorProto>,
  ) {
    this.inits = inits;
    this.graphInputs = new Set((graph.input ?? []).map((i) => i.name ?? "").filter((n) => !inits.has(n)));
    this.graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ""));
    for (const n of nodes) {
      for (const o of n.output ?? []) this.producer.set(o, n);
      for (const i of nodeUses(n)) {
        if (!i) continue;
        const list = this.consumers.get(i) ?? [];
        list.push(n);
        this.consumers.set(i, list);
      }
    }
  }

  /** The producer of `tensor` if it is an `op` node (default domain unless `domain`). */
  parent(tensor: string | undefined, op: string, domain = ""): NodeProto | undefined {
    if (!tensor) return undefined;
    const p = this.producer.get(tensor);
    return p && p.opType === op && (p.domain ?? "") === domain ? p : undefined;
  }

  onlyConsumer(tensor: string, op?: string): NodeProto | undefined {
    const c = this.consumers.get(tensor) ?? [];
    return c.length === 1 && (op === undefined || c[0].opType === op) ? c[0] : undefined;
  }

  tensor(name: string | undefined): TensorProto | undefined {
    if (!name) return undefined;
    const init = this.inits.get(name);
    if (init) return init;
    const p = this.producer.get(name);
    if (p?.opType === "Constant") return p.attribute?.find((a) => a.name === "value")?.t ?? undefined;
    return undefined;
  }

  isConstant(name: string | undefined): boolean {
    return this.tensor(name) !== undefined;
  }

  values(name: string | undefined): Float64Array | undefined {
    const t = this.tensor(name);
    return t ? tensorValues(t) : undefined;
  }

  scalar(name: string | undefined): number | undefined {
    const v = this.values(name);
    return v && v.length === 1 ? v[0] : undefined;
  }

  /** For a commutative binary node: the input that is not `known`. */
  other(node: NodeProto, known: string): string | undefined {
    const [a, b] = node.input ?? [];
    if (a === known) return b;
    if (b === known) return a;
    return undefined;
  }

  /** For a binary node with one constant input: [variable input, constant input]. */
  splitConstant(node: NodeProto): [string, string] | undefined {
    const [a, b] = node.input ?? [];
    if (this.isConstant(b) && !this.isConstant(a)) return [a, b];
    if (this.isConstant(a) && !this.isConstant(b)) return [b, a];
    return undefined;
  }
}

const near = (a: number | undefined, b: number, tol = 1e-3) => a !== undefined && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const lastAxis = (n: NodeProto) => {
  const axes = getIntsAttr(n, "axes");
  return axes !== undefined && axes.length === 1 && axes[0] === -1;
};

/** Fuses a model in place of a copy; returns the fused model and what was fused. */
export function fuseModel(model: ModelProto, options: FuseOptions = {}): { model: ModelProto; report: FusionReport } {
  const graph = model.graph;
  if (!graph) throw new WinnowError("MODEL_LOAD_FAILED", "model has no graph", { details: { field: "graph" } });
  const report: FusionReport = { layerNorm: 0, gelu: 0, biasGelu: 0, skipLayerNorm: 0, attention: 0, multiHeadAttention: 0, embedLayerNorm: 0 };
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t] as const));
  let nodes = [...(graph.node ?? [])];
  let counter = 0;
  const fresh = (base: string) => {
    let name: string;
    do name = `${base}_fused${counter++}`;
    while (inits.has(name));
    return name;
  };
  const addInit = (t: TensorProto) => {
    inits.set(t.name ?? "", t);
    return t.name ?? "";
  };

  /** Runs one fusion: `match` returns the node to replace and its replacement(s). */
  const pass = (match: (node: NodeProto, idx: GraphIndex) => { replace: NodeProto; with: NodeProto[] } | undefined): number => {
    const idx = new GraphIndex(nodes, graph, inits);
    const replaced = new Map<NodeProto, NodeProto[]>();
    for (const node of nodes) {
      const m = match(node, idx);
      if (m && !replaced.has(m.replace)) replaced.set(m.replace, m.with);
    }
    if (replaced.size > 0) nodes = nodes.flatMap((n) => replaced.get(n) ?? [n]);
    nodes = eliminateDeadNodes(nodes, graph);
    return replaced.size;
  };

  // LayerNorm: ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add → LayerNormalization.
  const layerNormAndGelu = options.layerNormAndGelu ?? true;
  if (layerNormAndGelu) report.layerNorm = pass((div, idx) => {
    if (div.opType !== "Div" || div.domain) return undefined;
    const [centered, std] = div.input ?? [];
    const sub = idx.parent(centered, "Sub");
    const sqrt = idx.parent(std, "Sqrt");
    if (!sub || !sqrt) return undefined;
    const [x, meanName] = sub.input ?? [];
    const mean = idx.parent(meanName, "ReduceMean");
    if (!mean || mean.input?.[0] !== x || !lastAxis(mean)) return undefined;
    const addEps = idx.parent(sqrt.input?.[0], "Add");
    if (!addEps) return undefined;
    const epsSplit = idx.splitConstant(addEps);
    if (!epsSplit) return undefined;
    const variance = idx.parent(epsSplit[0], "ReduceMean");
    if (!variance || !lastAxis(variance)) return undefined;
    const pow = idx.parent(variance.input?.[0], "Pow");
    if (!pow || !near(idx.scalar(pow.input?.[1]), 2, 0)) return undefined;
    const powSub = idx.parent(pow.input?.[0], "Sub");
    if (!powSub || powSub.input?.[0] !== x || powSub.input?.[1] !== meanName) return undefined;
    const mul = idx.onlyConsumer(div.output![0], "Mul");
    const gammaSplit = mul && idx.splitConstant(mul);
    if (!mul || !gammaSplit || gammaSplit[0] !== div.output![0]) return undefined;
    const add = idx.onlyConsumer(mul.output![0], "Add");
    const betaSplit = add && idx.splitConstant(add);
    if (!add || !betaSplit) return undefined;
    const eps = idx.scalar(epsSplit[1]);
    if (eps === undefined) return undefined;
    return {
      replace: add,
      with: [{ name: fresh("LayerNorm"), opType: "LayerNormalization", input: [x, gammaSplit[1], betaSplit[1]], output: [add.output![0]], attribute: [attrInt("axis", -1), attrFloat("epsilon", eps)] }],
    };
  });

  // Exact GELU: x * 0.5 * (1 + erf(x / sqrt 2)) in its exporter orderings → Gelu.
  if (layerNormAndGelu) report.gelu = pass((erf, idx) => {
    if (erf.opType !== "Erf") return undefined;
    const scaleNode = idx.producer.get(erf.input?.[0] ?? "");
    if (!scaleNode) return undefined;
    const scaleSplit = idx.splitConstant(scaleNode);
    if (!scaleSplit) return undefined;
    const c = idx.scalar(scaleSplit[1]);
    const ok = (scaleNode.opType === "Div" && near(c, Math.SQRT2)) || (scaleNode.opType === "Mul" && near(c, Math.SQRT1_2));
    if (!ok || (scaleNode.opType === "Div" && scaleNode.input?.[0] !== scaleSplit[0])) return undefined;
    const x = scaleSplit[0];
    const addOne = idx.onlyConsumer(erf.output![0], "Add");
    const oneSplit = addOne && idx.splitConstant(addOne);
    if (!addOne || !oneSplit || !near(idx.scalar(oneSplit[1]), 1, 1e-6)) return undefined;
    const m1 = idx.onlyConsumer(addOne.output![0], "Mul");
    if (!m1) return undefined;
    const m1Other = idx.other(m1, addOne.output![0]);
    let last: NodeProto | undefined;
    if (m1Other === x) {
      // (x * (1 + erf)) * 0.5
      const m2 = idx.onlyConsumer(m1.output![0], "Mul");
      const half = m2 && idx.splitConstant(m2);
      if (m2 && half && near(idx.scalar(half[1]), 0.5, 1e-6)) last = m2;
    } else {
      // (x * 0.5) * (1 + erf)
      const xHalf = idx.parent(m1Other, "Mul");
      const half = xHalf && idx.splitConstant(xHalf);
      if (xHalf && half && half[0] === x && near(idx.scalar(half[1]), 0.5, 1e-6)) last = m1;
    }
    if (!last) return undefined;
    return { replace: last, with: [{ name: fresh("Gelu"), opType: "Gelu", domain: MS_DOMAIN, input: [x], output: [last.output![0]] }] };
  });

  // Gelu(Add(x, bias)) → BiasGelu(x, bias).
  if (options.biasGelu ?? true) report.biasGelu = pass((gelu, idx) => {
    if (gelu.opType !== "Gelu" || gelu.domain !== MS_DOMAIN) return undefined;
    const add = idx.parent(gelu.input?.[0], "Add");
    const split = add && idx.splitConstant(add);
    if (!add || !split || tensorDims(idx.tensor(split[1])!).length !== 1 || (idx.consumers.get(add.output![0]) ?? []).length !== 1) return undefined;
    return { replace: gelu, with: [{ name: fresh("BiasGelu"), opType: "BiasGelu", domain: MS_DOMAIN, input: split, output: gelu.output }] };
  });

  if (options.embedLayerNorm ?? true) {
    report.embedLayerNorm = pass((ln, idx) => fuseEmbedding(ln, idx, fresh, addInit));
  }

  // Residual Add + LayerNormalization → SkipLayerNormalization (bias folded when the Add follows a MatMul + bias).
  if (options.skipLayerNorm ?? true) report.skipLayerNorm = pass((ln, idx) => {
    if (ln.opType !== "LayerNormalization" || ln.domain) return undefined;
    const add = idx.parent(ln.input?.[0], "Add");
    if (!add || (idx.consumers.get(add.output![0]) ?? []).length !== 1) return undefined;
    const [a, b] = add.input ?? [];
    if (idx.isConstant(a) || idx.isConstant(b)) return undefined;
    // The two sides must have the same shape; a projection (MatMul [+ bias]) on one side guarantees
    // that for transformer residuals, while broadcast adds (embeddings) never have one.
    const biasAdd = (t: string) => {
      const p = idx.parent(t, "Add");
      const s = p && idx.splitConstant(p);
      return p && s && (idx.consumers.get(t) ?? []).length === 1 && tensorDims(idx.tensor(s[1])!).length === 1 ? s : undefined;
    };
    // A projection: MatMul, fused Attention, or a dynamically quantized MatMul (MatMulInteger → Cast → Mul).
    const isProjection = (t: string) => {
      const p = idx.producer.get(t);
      if (!p) return false;
      if (p.opType === "MatMul" || (p.opType === "Attention" && p.domain === MS_DOMAIN)) return true;
      return p.opType === "Mul" && (p.input ?? []).some((i) => idx.parent(idx.parent(i, "Cast")?.input?.[0], "MatMulInteger"));
    };
    let inputs: string[] | undefined;
    for (const [x, residual] of [[a, b], [b, a]]) {
      const bias = biasAdd(x);
      if (bias && isProjection(bias[0])) inputs = [bias[0], residual, ln.input![1], ln.input![2], bias[1]];
      else if (isProjection(x)) inputs = [x, residual, ln.input![1], ln.input![2]];
      if (inputs) break;
    }
    if (!inputs) return undefined;
    return {
      replace: ln,
      with: [{ name: fresh("SkipLayerNorm"), opType: "SkipLayerNormalization", domain: MS_DOMAIN, input: inputs, output: [ln.output![0]], attribute: [attrFloat("epsilon", getFloatAttr(ln, "epsilon", 1e-5))] }],
    };
  });

  const attention = options.attention ?? true;
  if (attention) {
    const maskCasts = new Map<string, string>();
    if (attention === true) report.attention = pass((softmax, idx) => fuseAttention(softmax, idx, fresh, addInit, maskCasts));
    else if (attention === "flash-when-unpadded") {
      const conditions = new Map<string, string>();
      report.multiHeadAttention = pass((softmax, idx) => fuseFlashWhenUnpadded(softmax, idx, fresh, conditions));
      // One "all ones" test per mask input, computed once in front of the layers.
      const tests: NodeProto[] = [];
      for (const [mask, cond] of conditions) {
        const min = fresh("mask_min");
        tests.push({ name: fresh("MaskMin"), opType: "ReduceMin", input: [mask], output: [min], attribute: [attrInt("keepdims", 0)] });
        tests.push({ name: fresh("MaskAllOnes"), opType: "Cast", input: [min], output: [cond], attribute: [attrInt("to", DataType.BOOL)] });
      }
      nodes = [...tests, ...nodes];
    } else report.multiHeadAttention = pass((softmax, idx) => fuseMultiHeadAttention(softmax, idx, fresh, attention === "multihead" ? maskCasts : undefined));
    // The int32 mask casts are new nodes: add them in front (topological order is restored below).
    if (maskCasts.size > 0) {
      const casts: NodeProto[] = [...maskCasts].map(([input, out]) => ({ name: fresh("MaskCast"), opType: "Cast", input: [input], output: [out], attribute: [attrInt("to", DataType.INT32)] }));
      nodes = [...casts, ...nodes];
    }
  }

  nodes = topologicalSort(eliminateDeadNodes(nodes, graph), graph, inits);
  const used = new Set(nodes.flatMap(nodeUses));
  const fused: ModelProto = {
    ...model,
    opsetImport: [...(model.opsetImport ?? [])],
    graph: { ...graph, node: nodes, initializer: [...inits.values()].filter((t) => used.has(t.name ?? "")), valueInfo: [] },
  };
  ensureOpsetImport(fused, MS_DOMAIN, 1);
  return { model: fused, report };
}

function constInt32Cast(input: string, casts: Map<string, string>): string {
  let out = casts.get(input);
  if (!out) {
    out = `${input}_int32`;
    casts.set(input, out);
  }
  return out;
}

/** Follows single-input ops back from a mask bias to the graph input it is computed from. */
function maskSource(tensor: string, idx: GraphIndex): { input: string; hasComplement: boolean } | undefined {
  let t = tensor;
  let hasComplement = false;
  for (let steps = 0; steps < 12; steps++) {
    if (idx.graphInputs.has(t)) return { input: t, hasComplement };
    const p = idx.producer.get(t);
    if (!p) return undefined;
    const variable = (p.input ?? []).filter((i) => i && !idx.isConstant(i));
    if (variable.length !== 1) return undefined;
    if (p.opType === "Sub" && idx.isConstant(p.input?.[0])) hasComplement = true; // (1 - mask)
    t = variable[0];
  }
  return undefined;
}

/** Number of heads from a Reshape target [0, 0, heads, head_size] (constant, or Concat of constants). */
function headsFromReshape(reshape: NodeProto, idx: GraphIndex): number | undefined {
  const shape = idx.values(reshape.input?.[1]);
  if (shape && shape.length === 4) return shape[2];
  const concat = idx.parent(reshape.input?.[1], "Concat");
  if (concat && concat.input?.length === 4) {
    const v = idx.values(concat.input[2]) ?? idx.values(idx.parent(concat.input[2], "Unsqueeze")?.input?.[0]);
    if (v && v.length === 1) return v[0];
  }
  return undefined;
}

/**
 * The attention core between the Q/K/V projections and the output projection:
 * MatMul(q, kᵀ) → Div/Mul by a constant → [Add mask bias] → Softmax → MatMul(·, v) →
 * Transpose → Reshape, with q, k, v each a Reshape to heads then a Transpose.
 */
function matchAttentionCore(softmax: NodeProto, idx: GraphIndex) {
  if (softmax.opType !== "Softmax" || softmax.domain) return undefined;
  const axis = getIntAttr(softmax, "axis", -1);
  if (axis !== -1 && axis !== 3) return undefined;
  // Scores: MatMul(q, k) scaled by Div/Mul, plus an optional additive mask.
  let scoresTensor = softmax.input![0];
  let maskBias: string | undefined;
  const maskAdd = idx.parent(scoresTensor, "Add");
  if (maskAdd) {
    const [a, b] = maskAdd.input!;
    const scaledSide = idx.parent(a, "Div") || idx.parent(a, "Mul") ? a : b;
    maskBias = scaledSide === a ? b : a;
    scoresTensor = scaledSide;
  }
  const scaleNode = idx.parent(scoresTensor, "Div") ?? idx.parent(scoresTensor, "Mul");
  const scaleSplit = scaleNode && idx.splitConstant(scaleNode);
  if (!scaleNode || !scaleSplit) return undefined;
  const c = idx.scalar(scaleSplit[1]);
  if (c === undefined) return undefined;
  const scale = scaleNode.opType === "Div" ? 1 / c : c;
  const qk = idx.parent(scaleSplit[0], "MatMul");
  if (!qk) return undefined;
  const q = headSplit(qk.input?.[0], [0, 2, 1, 3], idx);
  const k = headSplit(qk.input?.[1], [0, 2, 3, 1], idx);
  const pv = idx.onlyConsumer(softmax.output![0], "MatMul");
  if (!q || !k || !pv || pv.input?.[0] !== softmax.output![0]) return undefined;
  const v = headSplit(pv.input?.[1], [0, 2, 1, 3], idx);
  if (!v) return undefined;
  const back = idx.onlyConsumer(pv.output![0], "Transpose");
  if (!back || JSON.stringify(getIntsAttr(back, "perm")) !== "[0,2,1,3]") return undefined;
  const merge = idx.onlyConsumer(back.output![0], "Reshape");
  if (!merge) return undefined;
  const heads = headsFromReshape(q.reshape, idx);
  if (!heads) return undefined;
  const nodes = [q.reshape, q.transpose, k.reshape, k.transpose, v.reshape, v.transpose, qk, scaleNode, ...(maskAdd ? [maskAdd] : []), softmax, pv, back, merge];
  return { q, k, v, scale, maskBias, merge, heads, nodes };
}

/** Reshape(x, [0, 0, heads, head_size]) → Transpose(perm): returns x and the Reshape. */
function headSplit(tensor: string | undefined, perm: number[], idx: GraphIndex) {
  const transpose = idx.parent(tensor, "Transpose");
  if (!transpose || JSON.stringify(getIntsAttr(transpose, "perm")) !== JSON.stringify(perm)) return undefined;
  const reshape = idx.parent(transpose.input?.[0], "Reshape");
  return reshape ? { x: reshape.input![0], reshape, transpose } : undefined;
}

/** Add(MatMul(x, W), b) with a constant fp32 2-D W: returns x, W and b. */
function projection(tensor: string, idx: GraphIndex) {
  const add = idx.parent(tensor, "Add");
  const split = add && idx.splitConstant(add);
  const matmul = split && idx.parent(split[0], "MatMul");
  const w = matmul && idx.tensor(matmul.input?.[1]);
  if (!split || !matmul || !w || w.dataType !== DataType.FLOAT || tensorDims(w).length !== 2) return undefined;
  return { x: matmul.input![0], w, bias: idx.tensor(split[1])! };
}

/** The int32 cast of the graph's attention_mask behind a (1 - mask) × -big bias, or undefined. */
function maskIndexFor(maskBias: string, idx: GraphIndex, maskCasts: Map<string, string>): string | undefined {
  const source = maskSource(maskBias, idx);
  if (!source || !source.hasComplement) return undefined; // not a (1 - mask) * -big pattern we can express
  return constInt32Cast(source.input, maskCasts);
}

function fuseAttention(
  softmax: NodeProto,
  idx: GraphIndex,
  fresh: (b: string) => string,
  addInit: (t: TensorProto) => string,
  maskCasts: Map<string, string>,
): { replace: NodeProto; with: NodeProto[] } | undefined {
  const core = matchAttentionCore(softmax, idx);
  if (!core) return undefined;
  const { heads, merge, scale } = core;
  const q = projection(core.q.x, idx);
  const k = projection(core.k.x, idx);
  const v = projection(core.v.x, idx);
  if (!q || !k || !v || q.x !== k.x || q.x !== v.x) return undefined;
  const [hidden, outQ] = tensorDims(q.w);
  if (outQ % heads !== 0 || tensorDims(k.w)[1] !== outQ || tensorDims(v.w)[1] !== outQ) return undefined;
  let maskIndex = "";
  if (core.maskBias !== undefined) {
    const m = maskIndexFor(core.maskBias, idx, maskCasts);
    if (m === undefined) return undefined;
    maskIndex = m;
  }
  // Packed QKV weight [hidden, 3 * out] and bias [3 * out], as Attention expects.
  const [wq, wk, wv] = [q.w, k.w, v.w].map(floatValues);
  const packed = new Float32Array(hidden * 3 * outQ);
  for (let r = 0; r < hidden; r++) {
    packed.set(wq.subarray(r * outQ, (r + 1) * outQ), r * 3 * outQ);
    packed.set(wk.subarray(r * outQ, (r + 1) * outQ), r * 3 * outQ + outQ);
    packed.set(wv.subarray(r * outQ, (r + 1) * outQ), r * 3 * outQ + 2 * outQ);
  }
  const bias = new Float32Array(3 * outQ);
  [q.bias, k.bias, v.bias].forEach((b, i) => bias.set(floatValues(b), i * outQ));
  const wName = addInit(floatTensor(fresh("attention_qkv_weight"), [hidden, 3 * outQ], packed));
  const bName = addInit(floatTensor(fresh("attention_qkv_bias"), [3 * outQ], bias));
  const attrs = [attrInt("num_heads", heads)];
  if (!near(scale, 1 / Math.sqrt(outQ / heads), 1e-6)) attrs.push(attrFloat("scale", scale));
  return {
    replace: merge,
    with: [{ name: fresh("Attention"), opType: "Attention", domain: MS_DOMAIN, input: [q.x, wName, bName, maskIndex], output: [merge.output![0]], attribute: attrs }],
  };
}

/**
 * Attention core → MultiHeadAttention(q, k, v[, key_padding_mask]) over the projection
 * outputs, whatever computes them (fp32 MatMul or a quantized chain). Without
 * `maskCasts` the mask is dropped (the unpadded variant). The head size is not known
 * from the graph here, so a non-default scale is always written out.
 */
function fuseMultiHeadAttention(
  softmax: NodeProto,
  idx: GraphIndex,
  fresh: (b: string) => string,
  maskCasts: Map<string, string> | undefined,
): { replace: NodeProto; with: NodeProto[] } | undefined {
  const core = matchAttentionCore(softmax, idx);
  if (!core) return undefined;
  const { q, k, v, heads, merge, scale } = core;
  let mask = "";
  if (core.maskBias !== undefined && maskCasts) {
    const m = maskIndexFor(core.maskBias, idx, maskCasts);
    if (m === undefined) return undefined;
    mask = m;
  }
  return {
    replace: merge,
    with: [
      {
        name: fresh("MultiHeadAttention"),
        opType: "MultiHeadAttention",
        domain: MS_DOMAIN,
        input: mask ? [q.x, k.x, v.x, "", mask] : [q.x, k.x, v.x],
        output: [merge.output![0]],
        attribute: [attrInt("num_heads", heads), attrFloat("scale", scale)],
      },
    ],
  };
}

/**
 * Attention core → If(mask is all ones) { MultiHeadAttention(q, k, v) } else { the core
 * as exported }. The else branch holds the original nodes, reading q, k, v and the mask
 * bias from the outer graph. `conditions` maps each mask input to its condition tensor
 * (created by the caller). A core without a mask needs no If: plain MultiHeadAttention.
 */
function fuseFlashWhenUnpadded(
  softmax: NodeProto,
  idx: GraphIndex,
  fresh: (b: string) => string,
  conditions: Map<string, string>,
): { replace: NodeProto; with: NodeProto[] } | undefined {
  const core = matchAttentionCore(softmax, idx);
  if (!core) return undefined;
  const { q, k, v, heads, merge, scale } = core;
  const out = merge.output![0];
  const flash = (output: string): NodeProto => ({
    name: fresh("MultiHeadAttention"),
    opType: "MultiHeadAttention",
    domain: MS_DOMAIN,
    input: [q.x, k.x, v.x],
    output: [output],
    attribute: [attrInt("num_heads", heads), attrFloat("scale", scale)],
  });
  if (core.maskBias === undefined) return { replace: merge, with: [flash(out)] };
  // Only a (1 - mask) × -big bias is zero when the mask is all ones, which is what makes the then branch exact.
  const source = maskSource(core.maskBias, idx);
  if (!source || !source.hasComplement) return undefined;
  // Every intermediate of the core must stay inside it, or moving it into a branch breaks a consumer.
  const inside = new Set(core.nodes);
  for (const n of core.nodes) {
    if (n === merge) continue;
    for (const o of n.output ?? []) if ((idx.consumers.get(o) ?? []).some((c) => !inside.has(c)) || idx.graphOutputs.has(o)) return undefined;
  }
  let cond = conditions.get(source.input);
  if (!cond) {
    cond = fresh("attention_mask_all_ones");
    conditions.set(source.input, cond);
  }
  const exported = fresh("attention_exported");
  const flashOut = fresh("attention_flash");
  const elseNodes = core.nodes.map((n) => (n === merge ? { ...n, output: [exported] } : n));
  const branch = (name: string, nodes: NodeProto[], output: string): GraphProto => ({
    name,
    node: nodes,
    output: [{ name: output, type: { tensorType: { elemType: DataType.FLOAT } } }], // shape left to inference
  });
  return {
    replace: merge,
    with: [
      {
        name: fresh("FlashWhenUnpadded"),
        opType: "If",
        input: [cond],
        output: [out],
        attribute: [
          { name: "then_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(fresh("flash_branch"), [flash(flashOut)], flashOut) },
          { name: "else_branch", type: onnx.AttributeProto.AttributeType.GRAPH, g: branch(fresh("exported_branch"), elseNodes, exported) },
        ],
      },
    ],
  };
}

/** Tensors a node reads: its inputs, and what nodes in its subgraphs (If branches…) read from outside them. */
function nodeUses(node: NodeProto): string[] {
  const uses = [...(node.input ?? [])];
  for (const a of node.attribute ?? []) {
    for (const g of [a.g, ...(a.graphs ?? [])]) {
      if (!g) continue;
      const inner = new Set<string>([...(g.initializer ?? []).map((t) => t.name ?? ""), ...(g.input ?? []).map((i) => i.name ?? "")]);
      for (const n of g.node ?? []) for (const o of n.output ?? []) inner.add(o);
      for (const n of g.node ?? []) for (const u of nodeUses(n)) if (u && !inner.has(u)) uses.push(u);
    }
  }
  return uses;
}

/** Leaves of an Add tree (through Adds with a single consumer). */
function addLeaves(tensor: string, idx: GraphIndex, depth = 0): string[] {
  const add = idx.parent(tensor, "Add");
  if (!add || depth > 3 || (depth > 0 && (idx.consumers.get(tensor) ?? []).length !== 1)) return [tensor];
  return (add.input ?? []).flatMap((t) => addLeaves(t, idx, depth + 1));
}

function fuseEmbedding(
  ln: NodeProto,
  idx: GraphIndex,
  fresh: (b: string) => string,
  addInit: (t: TensorProto) => string,
): { replace: NodeProto; with: NodeProto[] } | undefined {
  if (ln.opType !== "LayerNormalization" || ln.domain) return undefined;
  const leaves = addLeaves(ln.input![0], idx);
  if (leaves.length < 2 || leaves.length > 3) return undefined;
  const gathers = leaves.map((t) => idx.parent(t, "Gather"));
  if (gathers.some((g) => !g || !idx.isConstant(g.input?.[0]) || getIntAttr(g, "axis", 0) !== 0)) return undefined;
  let word: NodeProto | undefined;
  let segment: NodeProto | undefined;
  let position: NodeProto | undefined;
  let segmentRowZero = false;
  let positionOffset: number | undefined;
  for (const g of gathers as NodeProto[]) {
    const indices = g.input![1];
    if (idx.graphInputs.has(indices)) {
      // input_ids has the biggest table; token_type_ids the smallest.
      const rows = tensorDims(idx.tensor(g.input![0])!)[0];
      if (!word || rows > tensorDims(idx.tensor(word.input![0])!)[0]) {
        if (word) segment = word;
        word = g;
      } else segment = g;
      continue;
    }
    const zeroMul = idx.parent(indices, "Mul");
    if (zeroMul && idx.splitConstant(zeroMul) && idx.scalar(idx.splitConstant(zeroMul)![1]) === 0) {
      segment = g; // RoBERTa: a constant row 0, folded into the position table below
      segmentRowZero = true;
      continue;
    }
    const arange = idx.values(indices) ?? idx.values(idx.parent(indices, "Slice")?.input?.[0]);
    if (arange && arange.every((v, i) => v === i)) {
      position = g;
      positionOffset = 0;
      continue;
    }
    // RoBERTa: cumsum(non-pad) * non-pad + padding_idx; for right-padded input the real tokens are
    // at padding_idx + 1 + t, so the table is sliced from padding_idx + 1 (as ORT's fusion does).
    const plusPad = idx.parent(indices, "Add");
    const padSplit = plusPad && idx.splitConstant(plusPad);
    if (padSplit && hasCumSum(padSplit[0], idx)) {
      position = g;
      positionOffset = (idx.scalar(padSplit[1]) ?? -1) + 1;
      continue;
    }
    return undefined;
  }
  if (!word || !position || positionOffset === undefined || positionOffset < 0) return undefined;
  const H = tensorDims(idx.tensor(word.input![0])!)[1];
  let posTable = floatValues(idx.tensor(position.input![0])!).subarray(positionOffset * H);
  let segmentInputs: [string, string] = ["", ""];
  if (segment && segmentRowZero) {
    const row = floatValues(idx.tensor(segment.input![0])!).subarray(0, H);
    posTable = posTable.map((v, i) => v + row[i % H]);
  } else if (segment) {
    segmentInputs = [`${segment.input![1]}_int32`, segment.input![0]];
  }
  const posName = addInit(floatTensor(fresh("position_embeddings"), [posTable.length / H, H], Float32Array.from(posTable)));
  const idsCast = `${word.input![1]}_int32`;
  const casts: NodeProto[] = [];
  if (!idx.producer.has(idsCast)) casts.push({ name: fresh("Cast"), opType: "Cast", input: [word.input![1]], output: [idsCast], attribute: [attrInt("to", DataType.INT32)] });
  if (segmentInputs[0] && !idx.producer.has(segmentInputs[0])) {
    casts.push({ name: fresh("Cast"), opType: "Cast", input: [segment!.input![1]], output: [segmentInputs[0]], attribute: [attrInt("to", DataType.INT32)] });
  }
  return {
    replace: ln,
    with: [
      ...casts,
      {
        name: fresh("EmbedLayerNorm"),
        opType: "EmbedLayerNormalization",
        domain: MS_DOMAIN,
        input: [idsCast, segmentInputs[0], word.input![0], posName, segmentInputs[1], ln.input![1], ln.input![2]],
        output: [ln.output![0], fresh("embed_mask_index")],
        attribute: [attrFloat("epsilon", getFloatAttr(ln, "epsilon", 1e-5))],
      },
    ],
  };
}

function hasCumSum(tensor: string, idx: GraphIndex, depth = 0): boolean {
  const p = idx.producer.get(tensor);
  if (!p || depth > 6) return false;
  if (p.opType === "CumSum") return true;
  return (p.input ?? []).some((i) => i && hasCumSum(i, idx, depth + 1));
}

/** Drops nodes none of whose outputs reach a graph output. */
function eliminateDeadNodes(nodes: NodeProto[], graph: GraphProto): NodeProto[] {
  const needed = new Set((graph.output ?? []).map((o) => o.name ?? ""));
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const live = new Set<NodeProto>();
  const stack = [...needed];
  while (stack.length > 0) {
    const t = stack.pop()!;
    const p = producer.get(t);
    if (!p || live.has(p)) continue;
    live.add(p);
    for (const i of nodeUses(p)) if (i) stack.push(i);
  }
  return nodes.filter((n) => live.has(n));
}

/** Kahn's order over tensor availability (graph inputs and initializers first). */
function topologicalSort(nodes: NodeProto[], graph: GraphProto, inits: Map<string, TensorProto>): NodeProto[] {
  const available = new Set<string>(["", ...inits.keys(), ...(graph.input ?? []).map((i) => i.name ?? "")]);
  const out: NodeProto[] = [];
  let pending = nodes;
  while (pending.length > 0) {
    const next: NodeProto[] = [];
    for (const n of pending) {
      if (nodeUses(n).every((i) => available.has(i))) {
        out.push(n);
        for (const o of n.output ?? []) available.add(o);
      } else next.push(n);
    }
    if (next.length === pending.length) {
      throw new WinnowError("INTERNAL", `graph has a cycle or a missing input after fusion (node ${next[0].name})`, { details: { node: next[0].name } });
    }
    pending = next;
  }
  return out;
}

/** Reads `input`, fuses it and writes `output` atomically. */
export async function fuseFile(input: string, output: string, options: FuseOptions = {}): Promise<FusionReport> {
  const { model, report } = fuseModel(await loadModel(input), options);
  await saveModel(output, model);
  return report;
}
