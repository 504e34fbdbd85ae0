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
 *   B_q (symmetric), B_zp ─────────────────────┴ MatMulInteger ─ Cast(float) ─ Mul ─ output
 *                              A_scale × B_scale ───────────────────────────┘
 *
 * ORT then fuses this at session load into DynamicQuantizeMatMul (with the bias
 * Add). Activations are QUInt8 as in ORT's defaults. How the weights are stored
 * decides which kernel runs, and whether it is exact (see int8-kernel-probe.ts):
 *   - "s8": int8 in [-127, 127], zero point 0 (ORT's QInt8 default). With VNNI, AMX or
 *     ARM dot products the fastest kernel; on x86 CPUs without VNNI, u8×s8 pair sums
 *     saturate at int16 and the logits are wrong.
 *   - "u8": the same values + 128 as uint8, zero point 128. The same integers, so the
 *     same logits as s8 where s8 is exact; runs ORT's u8×u8 kernels, exact everywhere.
 *   - "s8-reduce-range": int8 in [-64, 64] (ORT's reduce_range): cannot saturate, but
 *     7-bit weights lose precision (much larger logit error).
 * `quantizeFile` defaults to "auto": the probe's choice for the CPU at hand.
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
  uint8Tensor,
  tensorDims,
  type ModelProto,
  loadModel,
  saveModel,
  ensureOpsetImport,
  MS_DOMAIN,
} from "./onnx-graph.js";
import { INT8_WEIGHT_SCHEMES, probeInt8Kernels, schemeIsExact, type Int8KernelProbe, type Int8WeightScheme } from "./int8-kernel-probe.js";

export interface QuantizeOptions {
  /** One scale per output column (MatMul B axis 1) instead of one per tensor. Default false (ORT's default). */
  perChannel?: boolean;
  /**
   * How weights are stored: "s8", "u8" or "s8-reduce-range" (see the module comment).
   * quantizeModel defaults to "u8" (exact on every CPU); quantizeFile also takes "auto"
   * (its default): the scheme the int8 kernel probe picks for this CPU.
   */
  weights?: Int8WeightScheme | "auto";
  /** Same as weights: "s8-reduce-range" (kept for callers of the earlier option). */
  reduceRange?: boolean;
  /** Skip MatMuls whose weight has fewer than this many elements (default 0: quantize all). */
  minWeightElements?: number;
  /** A probe result to decide "auto" with instead of probing this process's CPU (tests, or a caller that already probed). */
  probe?: Int8KernelProbe;
}

export interface QuantizeReport {
  quantizedMatMuls: number;
  quantizedAttention: number;
  skipped: number;
  /** The weight scheme written. */
  weights?: Int8WeightScheme;
  perChannel?: boolean;
  /** Why that scheme: the probe's reason for "auto", or that the caller chose it. */
  schemeReason?: string;
  /** Whether that scheme computes exactly with this CPU's ONNX Runtime kernels (quantizeFile only: it probes). */
  exactHere?: boolean;
  /** The probe result used (quantizeFile only). */
  probe?: Int8KernelProbe;
}

function checkScheme(value: unknown, allowAuto: boolean): Int8WeightScheme | "auto" {
  const allowed: readonly string[] = allowAuto ? [...INT8_WEIGHT_SCHEMES, "auto"] : INT8_WEIGHT_SCHEMES;
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw new WinnowError("INVALID_INPUT", `weights must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`, { details: { field: "weights", allowed } });
  }
  return value as Int8WeightScheme | "auto";
}

/** The scheme the options ask for, before "auto" is resolved. */
function requestedScheme(options: QuantizeOptions, fallback: Int8WeightScheme | "auto"): Int8WeightScheme | "auto" {
  if (options.weights !== undefined) {
    const scheme = checkScheme(options.weights, true);
    if (options.reduceRange && scheme !== "s8-reduce-range") {
      throw new WinnowError("INVALID_INPUT", `reduceRange contradicts weights: "${scheme}"`, { details: { field: "reduceRange" } });
    }
    return scheme;
  }
  return options.reduceRange ? "s8-reduce-range" : fallback;
}

/**
 * Resolves "auto" with the int8 kernel probe (this CPU, or `options.probe`); returns the
 * scheme, why, and whether it is exact here.
 */
export async function resolveWeightScheme(options: QuantizeOptions = {}): Promise<{ weights: Int8WeightScheme; reason: string; exactHere: boolean; probe: Int8KernelProbe }> {
  const requested = requestedScheme(options, "auto");
  const probe = options.probe ?? (await probeInt8Kernels());
  if (requested === "auto") return { weights: probe.recommended, reason: `auto: ${probe.reason}`, exactHere: schemeIsExact(probe, probe.recommended), probe };
  const exactHere = schemeIsExact(probe, requested);
  return { weights: requested, reason: exactHere ? "as asked (exact on this CPU)" : `as asked; NOT exact on this CPU: ${probe.reason}`, exactHere, probe };
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
  const scheme = requestedScheme(options, "u8");
  if (scheme === "auto") {
    throw new WinnowError("INVALID_INPUT", 'quantizeModel needs a concrete weights scheme ("s8", "u8", "s8-reduce-range"); resolve "auto" first with resolveWeightScheme, or use quantizeFile', { details: { field: "weights" } });
  }
  const inits = initializerMap(graph);
  const useCount = new Map<string, number>();
  for (const n of graph.node ?? []) for (const i of n.input ?? []) useCount.set(i, (useCount.get(i) ?? 0) + 1);

  const reserved = new Set<string>([...inits.keys()]);
  for (const n of graph.node ?? []) for (const name of [...(n.input ?? []), ...(n.output ?? []), n.name ?? ""]) reserved.add(name);
  const g = new GraphBuilder(reserved);
  const quantizedActivation = new Map<string, [string, string, string]>();
  const dropped = new Set<string>();
  const stats: QuantizeReport = report ?? { quantizedMatMuls: 0, quantizedAttention: 0, skipped: 0 };
  stats.weights = scheme;
  stats.perChannel = perChannel;

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
    const { q, scales } = quantizeWeight(floatValues(t), dims, perChannel, scheme === "s8-reduce-range");
    const zpDims = perChannel ? [scales.length] : [];
    // u8: the same integers shifted by 128 (zero point 128), so s8 and u8 compute the same products.
    const qName = g.addInitializer(scheme === "u8" ? uint8Tensor(`${name}_quantized`, dims, Uint8Array.from(q, (v) => v + 128)) : int8Tensor(`${name}_quantized`, dims, q));
    const scaleName = g.addInitializer(floatTensor(`${name}_scale`, zpDims, scales));
    const zp = g.addInitializer(scheme === "u8" ? uint8Tensor(`${name}_zero_point`, zpDims, new Uint8Array(scales.length).fill(128)) : int8Tensor(`${name}_zero_point`, zpDims, new Int8Array(scales.length)));
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

/**
 * Reads `input`, quantizes it and writes `output` atomically. `weights` defaults to
 * "auto": the scheme exact (and fastest) on this CPU; the report says which and why.
 */
export async function quantizeFile(input: string, output: string, options: QuantizeOptions = {}): Promise<QuantizeReport> {
  const scheme = await resolveWeightScheme(options);
  const report: QuantizeReport = { quantizedMatMuls: 0, quantizedAttention: 0, skipped: 0 };
  const model = await loadModel(input);
  const quantized = quantizeModel(model, { ...options, reduceRange: undefined, weights: scheme.weights }, report);
  if (report.quantizedMatMuls + report.quantizedAttention === 0) {
    throw new WinnowError("INVALID_INPUT", `${input} has no MatMul with a constant float weight to quantize (already quantized?)`, {
      details: { field: "in", path: input },
    });
  }
  await saveModel(output, quantized);
  return { ...report, schemeReason: scheme.reason, exactHere: scheme.exactHere, probe: scheme.probe };
}
