/**
 * int8 dynamic quantization: the rewrite ONNX Runtime's Python `quantize_dynamic`
 * performs (onnxruntime/python/tools/quantization, operators/matmul.py), done in
 * Node because the Python tooling is not available here.
 *
 * For every MatMul whose B input is a constant fp32 initializer (ORT's
 * MatMulConstBOnly, on by default for dynamic quantization):
 *
 *   A ─ DynamicQuantizeLinear ─┬ A_q (uint8) ─┐
 *                              ├ A_scale      │
 *                              └ A_zp ────────┤
 *   B_q (int8, symmetric), B_zp = 0 ──────────┴ MatMulInteger ─ Cast(float) ─ Mul ─ output
 *                              A_scale × B_scale ───────────────────────────┘
 *
 * ORT then fuses this at session load into DynamicQuantizeMatMul (with the bias
 * Add), which runs on the VNNI int8 kernels. Activations are QUInt8 and weights
 * QInt8 as in ORT's defaults; weights use the full [-127, 127] range because
 * `reduce_range` only matters on x86 CPUs without VNNI (pass reduceRange there).
 * Embedding Gathers stay fp32: they are lookups, not compute.
 */
import { WinnowError } from "../core/errors.js";
import {
  DataType,
  GraphBuilder,
  attrInt,
  floatTensor,
  floatValues,
  initializerMap,
  int8Tensor,
  tensorDims,
  type ModelProto,
  loadModel,
  saveModel,
  ensureOpsetImport,
  MS_DOMAIN,
} from "./onnx-graph.js";

export interface QuantizeOptions {
  /** One scale per output column (MatMul B axis 1) instead of one per tensor. Default false (ORT's default). */
  perChannel?: boolean;
  /** Quantize weights to [-64, 64]: for x86 CPUs without VNNI, where u8×s8 products can saturate. Default false. */
  reduceRange?: boolean;
  /** Skip MatMuls whose weight has fewer than this many elements (default 0: quantize all). */
  minWeightElements?: number;
}

export interface QuantizeReport {
  quantizedMatMuls: number;
  quantizedAttention: number;
  skipped: number;
}

/** Rounds half to even, as numpy.rint (which ORT's quantizer uses). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Symmetric int8 quantization of a [K, N] weight, per tensor or per column. */
export function quantizeWeight(data: Float32Array, dims: number[], perChannel: boolean, reduceRange = false): { q: Int8Array; scales: Float32Array } {
  const qmax = reduceRange ? 64 : 127; // ORT: (-64, 64) with reduce_range, (-127, 127) without
  const [K, N] = dims.length === 2 ? dims : [data.length / dims[dims.length - 1], dims[dims.length - 1]];
  const channels = perChannel ? N : 1;
  const absMax = new Float64Array(channels);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const c = perChannel ? n : 0;
      const a = Math.abs(data[k * N + n]);
      if (a > absMax[c]) absMax[c] = a;
    }
  }
  // ORT: scale = (rmax - rmin) / (qmax - qmin) with rmin = -absmax; an all-zero channel gets scale 1.
  const scales = Float32Array.from(absMax, (m) => (m === 0 ? 1 : (2 * m) / (2 * qmax)));
  const q = new Int8Array(data.length);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const s = scales[perChannel ? n : 0];
      q[k * N + n] = Math.max(-qmax, Math.min(qmax, roundHalfEven(data[k * N + n] / s)));
    }
  }
  return { q, scales };
}

/** Returns a new model with MatMuls (and fused Attention weights) in dynamic int8. */
export function quantizeModel(model: ModelProto, options: QuantizeOptions = {}, report?: QuantizeReport): ModelProto {
  const graph = model.graph;
  if (!graph) throw new WinnowError("MODEL_LOAD_FAILED", "model has no graph", { details: { field: "graph" } });
  const perChannel = options.perChannel ?? false;
  const inits = initializerMap(graph);
  const useCount = new Map<string, number>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) useCount.set(i, (useCount.get(i) ?? 0) + 1);

  const reserved = new Set<string>([...inits.keys()]);
  for (const n of graph.node ?? []) for (const name of [...(n.input ?? []), ...(n.output ?? []), n.name ?? ""]) reserved.add(name);
  const g = new GraphBuilder(reserved);
  const quantizedActivation = new Map<string, [string, string, string]>();
  const dropped = new Set<string>();
  const stats: QuantizeReport = report ?? { quantizedMatMuls: 0, quantizedAttention: 0, skipped: 0 };

  const dynamicQuantize = (activation: string): [string, string, string] => {
    // One DynamicQuantizeLinear per activation, shared by its consumers (Q, K and V read the same input).
    let q = quantizedActivation.get(activation);
    if (!q) {
      q = g.node("DynamicQuantizeLinear", [activation], [`${activation}_quantized`, `${activation}_scale`, `${activation}_zero_point`].map((n) => g.uniqueName(n))) as [string, string, string];
      quantizedActivation.set(activation, q);
    }
    return q;
  };
  const quantizedWeight = (name: string) => {
    const t = inits.get(name)!;
    const dims = tensorDims(t);
    const { q, scales } = quantizeWeight(floatValues(t), dims, perChannel, options.reduceRange);
    const qName = g.addInitializer(int8Tensor(`${name}_quantized`, dims, q));
    const scaleName = g.addInitializer(floatTensor(`${name}_scale`, perChannel ? [scales.length] : [], scales));
    const zp = g.addInitializer(int8Tensor(`${name}_zero_point`, perChannel ? [scales.length] : [], new Int8Array(scales.length)));
    if (useCount.get(name) === 1) dropped.add(name);
    return { qName, scaleName, zp, dims };
  };

  for (const node of graph.node ?? []) {
    const weightName = node.input?.[1] ?? "";
    const weight = inits.get(weightName);
    const isFloatWeight = weight !== undefined && weight.dataType === DataType.FLOAT && tensorDims(weight).length === 2;
    const bigEnough = isFloatWeight && tensorDims(weight).reduce((a, b) => a * b, 1) >= (options.minWeightElements ?? 0);
    if (node.opType === "MatMul" && !node.domain && isFloatWeight && bigEnough) {
      const [aq, ascale, azp] = dynamicQuantize(node.input![0]);
      const w = quantizedWeight(weightName);
      const base = node.name || node.output![0];
      const integer = g.node("MatMulInteger", [aq, w.qName, azp, w.zp], [g.uniqueName(`${base}_output_quantized`)])[0];
      const asFloat = g.node("Cast", [integer], [g.uniqueName(`${base}_output_quantized_cast_output`)], [attrInt("to", DataType.FLOAT)])[0];
      const scale = g.node("Mul", [ascale, w.scaleName], [g.uniqueName(`${base}_scales_mul:0`)])[0];
      g.node("Mul", [asFloat, scale], [node.output![0]]);
      stats.quantizedMatMuls++;
      continue;
    }
    if (node.opType === "Attention" && node.domain === MS_DOMAIN && isFloatWeight) {
      // ORT's QAttention: same dynamic scheme over the packed QKV weight.
      const [aq, ascale, azp] = dynamicQuantize(node.input![0]);
      const w = quantizedWeight(weightName);
      const inputs = [aq, w.qName, node.input![2] ?? "", ascale, w.scaleName, node.input![3] ?? "", azp, w.zp];
      g.nodes.push({ ...node, opType: "QAttention", input: inputs });
      stats.quantizedAttention++;
      continue;
    }
    if (node.opType === "MatMul") stats.skipped++;
    g.nodes.push(node);
  }
  const keptInits = (graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? ""));
  const out: ModelProto = {
    ...model,
    opsetImport: [...(model.opsetImport ?? [])],
    graph: { ...graph, node: g.nodes, initializer: [...keptInits, ...g.initializers] },
  };
  if (stats.quantizedAttention > 0) ensureOpsetImport(out, MS_DOMAIN, 1);
  return out;
}

/** Reads `input`, quantizes it and writes `output` atomically. */
export async function quantizeFile(input: string, output: string, options: QuantizeOptions = {}): Promise<QuantizeReport> {
  const report: QuantizeReport = { quantizedMatMuls: 0, quantizedAttention: 0, skipped: 0 };
  const model = await loadModel(input);
  const quantized = quantizeModel(model, options, report);
  if (report.quantizedMatMuls + report.quantizedAttention === 0) {
    throw new WinnowError("INVALID_INPUT", `${input} has no MatMul with a constant float weight to quantize (already quantized?)`, {
      details: { field: "in", path: input },
    });
  }
  await saveModel(output, quantized);
  return report;
}

