/**
 * Which integer type an ONNX file's int8 weights are stored in, read from the graph
 * (nodes and initializer headers; the weight data stays on disk). File names promise
 * nothing (`model_quantized.onnx` holds s8 weights in some repos and u8 in others), and
 * whether int8 scores are right on a CPU depends on exactly this: u8×s8 products saturate
 * on x86 without VNNI, u8×u8 ones do not (see int8-kernel-probe.ts).
 */
import { DataType, type NodeProto, type TensorProto } from "./onnx-graph.js";
import { readModelSkeleton } from "./model-splice.js";

/** Integer matrix ops and the input index of their weight (as ONNX Runtime's s8→u8 rewrite lists them), and of its scale / zero point. */
const WEIGHT_INPUTS: Record<string, { weight: number; scaleOrZeroPoint: number[] }> = {
  MatMulInteger: { weight: 1, scaleOrZeroPoint: [3] },
  DynamicQuantizeMatMul: { weight: 1, scaleOrZeroPoint: [2, 3] },
  MatMulIntegerToFloat: { weight: 1, scaleOrZeroPoint: [3, 5] },
  QAttention: { weight: 1, scaleOrZeroPoint: [4, 7] },
  QGemm: { weight: 3, scaleOrZeroPoint: [4, 5] },
  QLinearMatMul: { weight: 3, scaleOrZeroPoint: [4, 5] },
  QLinearConv: { weight: 3, scaleOrZeroPoint: [4, 5] },
  ConvInteger: { weight: 1, scaleOrZeroPoint: [3] },
};

export type Int8WeightKind = "none" | "s8" | "u8" | "mixed";

export interface Int8WeightsInfo {
  /** "none": no integer matrix op; "s8" / "u8": all weights of that type; "mixed": both. */
  weights: Int8WeightKind;
  /** Integer matrix ops in the graph (subgraphs included). */
  integerOps: number;
  s8Ops: number;
  u8Ops: number;
  /** s8 weights that are not initializers (ONNX Runtime's s8→u8 rewrite only converts constant ones). */
  nonConstantS8: number;
  /** s8 initializers read by more than one op (ONNX Runtime 1.30's s8→u8 rewrite fails on those at load). */
  sharedS8: number;
  /** Whether any weight has one scale / zero point per output column. */
  perChannel: boolean;
}

function elementCount(t: TensorProto): number {
  return (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
}

function collectNodes(nodes: readonly NodeProto[], out: NodeProto[]): void {
  for (const n of nodes) {
    out.push(n);
    for (const a of n.attribute ?? []) {
      if (a.g?.node) collectNodes(a.g.node, out);
      for (const sub of a.graphs ?? []) if (sub.node) collectNodes(sub.node, out);
    }
  }
}

/** Classifies the integer weights of `nodes` given the graph's initializers. */
export function classifyInt8Weights(nodes: readonly NodeProto[], initializers: readonly TensorProto[]): Int8WeightsInfo {
  const inits = new Map(initializers.map((t) => [t.name ?? "", t]));
  const all: NodeProto[] = [];
  collectNodes(nodes, all);
  const info: Int8WeightsInfo = { weights: "none", integerOps: 0, s8Ops: 0, u8Ops: 0, nonConstantS8: 0, sharedS8: 0, perChannel: false };
  const s8Readers = new Map<string, number>();
  for (const n of all) {
    const spec = WEIGHT_INPUTS[n.opType ?? ""];
    if (!spec) continue;
    const weightName = n.input?.[spec.weight] ?? "";
    const weight = inits.get(weightName);
    info.integerOps++;
    // A weight computed in the graph has no declared type here; its zero point (same type)
    // tells, and without one it is counted as s8: the cautious reading.
    const zp = n.input?.[spec.scaleOrZeroPoint[spec.scaleOrZeroPoint.length - 1]];
    const type = weight?.dataType ?? (zp ? inits.get(zp)?.dataType : undefined) ?? DataType.INT8;
    if (type === DataType.INT8) {
      info.s8Ops++;
      if (!weight) info.nonConstantS8++;
      else s8Readers.set(weightName, (s8Readers.get(weightName) ?? 0) + 1);
    } else info.u8Ops++;
    for (const i of spec.scaleOrZeroPoint) {
      const t = inits.get(n.input?.[i] ?? "");
      if (t && elementCount(t) > 1) info.perChannel = true;
    }
  }
  info.sharedS8 = [...s8Readers.values()].filter((c) => c > 1).length;
  info.weights = info.s8Ops > 0 && info.u8Ops > 0 ? "mixed" : info.s8Ops > 0 ? "s8" : info.u8Ops > 0 ? "u8" : "none";
  return info;
}

/** Reads `path`'s graph (not its weights) and classifies its integer weights. */
export async function inspectInt8Weights(path: string): Promise<Int8WeightsInfo> {
  const skeleton = await readModelSkeleton(path);
  return classifyInt8Weights(skeleton.model.graph?.node ?? [], skeleton.model.graph?.initializer ?? []);
}
