/**
 * Reading, building and writing ONNX graphs with the protobufjs classes from
 * `onnx-proto`. The generator, the quantizer and the fusion pass share this so
 * that each of them is only its own transformation.
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../core/atomic-file.js";
import onnxProto from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";
import { WinnowError } from "../core/errors.js";

export const { onnx } = onnxProto;
export type ModelProto = OnnxTypes.IModelProto;
export type GraphProto = OnnxTypes.IGraphProto;
export type NodeProto = OnnxTypes.INodeProto;
export type TensorProto = OnnxTypes.ITensorProto;
export type AttributeProto = OnnxTypes.IAttributeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;

export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
} as const;

export const MS_DOMAIN = "com.microsoft";

/** int64 fields decode as Long objects; everything we handle fits in a double. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}

// ---------------------------------------------------------------- attributes

export function attrInt(name: string, value: number): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
export function attrFloat(name: string, value: number): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value };
}
export function attrInts(name: string, values: number[]): AttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function getAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}
export function getIntAttr(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? toNumber(a.i as number) : fallback;
}
export function getIntsAttr(node: NodeProto, name: string): number[] | undefined {
  const a = getAttr(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v as number)) : undefined;
}
export function getFloatAttr(node: NodeProto, name: string, fallback: number): number {
  const a = getAttr(node, name);
  return a ? (a.f ?? fallback) : fallback;
}

// ---------------------------------------------------------------- tensors

export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
export function int64Tensor(name: string, dims: number[], data: number[]): TensorProto {
  const arr = new BigInt64Array(data.map((v) => BigInt(v)));
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(arr.buffer) };
}
export function int8Tensor(name: string, dims: number[], data: Int8Array): TensorProto {
  return { name, dims, dataType: DataType.INT8, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
export function uint8Tensor(name: string, dims: number[], data: Uint8Array): TensorProto {
  return { name, dims, dataType: DataType.UINT8, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function tensorDims(t: TensorProto): number[] {
  return (t.dims ?? []).map((d) => toNumber(d as number));
}

/** Throws when a tensor has elements but no data here (a skeleton stub, or external data). */
function checkLoaded(t: TensorProto, values: ArrayLike<number>): void {
  const elements = tensorDims(t).reduce((a, b) => a * b, 1);
  if (values.length === 0 && elements > 0) {
    throw new WinnowError("INTERNAL", `initializer ${t.name}: its data is not loaded (stored externally, or read as a skeleton)`, { details: { initializer: t.name } });
  }
}

/** A tensor's values as float64 (for FLOAT, INT64, INT32 and INT8/UINT8 initializers). */
export function tensorValues(t: TensorProto): Float64Array {
  const values = tensorValuesUnchecked(t);
  checkLoaded(t, values);
  return values;
}

function tensorValuesUnchecked(t: TensorProto): Float64Array {
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  // rawData may be an unaligned view into the decode buffer: copy before reinterpreting.
  const bytes = raw ? Uint8Array.from(raw) : undefined;
  switch (t.dataType) {
    case DataType.FLOAT:
      return Float64Array.from(bytes ? new Float32Array(bytes.buffer) : (t.floatData ?? []));
    case DataType.INT64:
      if (bytes) return Float64Array.from(new BigInt64Array(bytes.buffer), (v) => Number(v));
      return Float64Array.from((t.int64Data ?? []).map((v) => toNumber(v as number)));
    case DataType.INT32:
      return Float64Array.from(bytes ? new Int32Array(bytes.buffer) : (t.int32Data ?? []));
    case DataType.INT8:
      return Float64Array.from(bytes ? new Int8Array(bytes.buffer) : (t.int32Data ?? []));
    case DataType.UINT8:
      return Float64Array.from(bytes ? bytes : (t.int32Data ?? []));
    default:
      throw new WinnowError("MODEL_LOAD_FAILED", `initializer ${t.name}: data type ${t.dataType} is not supported`, {
        details: { initializer: t.name, dataType: t.dataType },
      });
  }
}

/** A FLOAT tensor's values as a Float32Array (copy). */
export function floatValues(t: TensorProto): Float32Array {
  if (t.dataType !== DataType.FLOAT) {
    throw new WinnowError("MODEL_LOAD_FAILED", `initializer ${t.name} is not float32`, { details: { initializer: t.name } });
  }
  const values = t.rawData && t.rawData.length > 0 ? new Float32Array(Uint8Array.from(t.rawData).buffer) : Float32Array.from(t.floatData ?? []);
  checkLoaded(t, values);
  return values;
}

// ---------------------------------------------------------------- builder

/** Appends nodes and initializers with unique, readable names. */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(reservedNames: Iterable<string> = []) {
    for (const n of reservedNames) this.used.add(n);
  }

  uniqueName(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns its output names (generated when given as a count). */
  node(opType: string, inputs: string[], outputs: number | string[] = 1, attributes: AttributeProto[] = [], domain = ""): string[] {
    const name = this.uniqueName(`${opType}_${this.nodes.length}`);
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, (_, i) => this.uniqueName(`${name}_out${i}`)) : outputs;
    for (const o of outs) this.used.add(o);
    this.nodes.push({ name, opType, input: inputs, output: outs, attribute: attributes, domain: domain || undefined });
    return outs;
  }

  /** A single-output node. */
  op(opType: string, inputs: string[], attributes: AttributeProto[] = [], domain = ""): string {
    return this.node(opType, inputs, 1, attributes, domain)[0];
  }

  addInitializer(tensor: TensorProto): string {
    const name = tensor.name && !this.used.has(tensor.name) ? tensor.name : this.uniqueName(tensor.name ?? "const");
    this.used.add(name);
    this.initializers.push({ ...tensor, name });
    return name;
  }

  float(name: string, dims: number[], data: Float32Array): string {
    return this.addInitializer(floatTensor(name, dims, data));
  }
  scalar(name: string, value: number): string {
    return this.float(name, [], Float32Array.of(value));
  }
  int64(name: string, dims: number[], data: number[]): string {
    return this.addInitializer(int64Tensor(name, dims, data));
  }
}

export function tensorValueInfo(name: string, elemType: number, shape: Array<number | string>): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

// ---------------------------------------------------------------- files

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export async function loadModel(path: string): Promise<ModelProto> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new WinnowError("MODEL_NOT_FOUND", `cannot read ONNX model ${path}: ${(err as Error).message}`, { details: { path }, cause: err });
  }
  return decodeModel(bytes, path);
}

/** Parses ONNX bytes (`path` only names them in errors). */
export function decodeModel(bytes: Uint8Array, path = "(buffer)"): ModelProto {
  try {
    const model = onnx.ModelProto.decode(bytes);
    if (!model.graph) throw new Error("no graph");
    return model;
  } catch (err) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${path} is not a valid ONNX model: ${(err as Error).message}`, { details: { path }, cause: err });
  }
}

export async function saveModel(path: string, model: ModelProto): Promise<void> {
  await writeFileAtomic(path, encodeModel(model));
}

/** Name → initializer, for passes that need constant values. */
export function initializerMap(graph: GraphProto): Map<string, TensorProto> {
  return new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
}

/** Adds `domain` at `version` to the model's opset imports unless present. */
export function ensureOpsetImport(model: ModelProto, domain: string, version: number): void {
  model.opsetImport ??= [];
  if (!model.opsetImport.some((o) => o.domain === domain)) model.opsetImport.push({ domain, version });
}
