/**
 * A model folder's weights under their Hugging Face names in torch layout, checked
 * tensor by tensor against what config.json says the network is: from model.safetensors,
 * or, when a folder has only its ONNX graph (Winnow's generated models), from the fp32
 * graph's initializers, which carry the same names with linear weights transposed.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { WinnowError } from "../core/errors.js";
import type { WeightMap } from "../onnx/bert-graph.js";
import { floatValues, initializerMap, loadModel, tensorDims } from "../onnx/onnx-graph.js";
import { isLinearWeight, type FinetuneArchitecture } from "./architecture.js";
import { readFloatTensor, readSafetensorsHeader, type FloatTensor } from "./safetensors.js";

export type HfWeights = Map<string, FloatTensor>;

export interface LoadedWeights {
  weights: HfWeights;
  /** The file they came from. */
  file: string;
  from: "safetensors" | "onnx";
  /** Tensors in the file the architecture does not use (heads of other tasks): ignored, listed. */
  unused: string[];
}

/** Buffers torch checkpoints carry that are not parameters. */
const BUFFER = /(^|\.)position_ids$/;

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function mismatch(file: string, configPath: string, name: string, got: readonly number[], want: readonly number[]): WinnowError {
  return new WinnowError("MODEL_LOAD_FAILED", `${file}: ${name} has shape ${JSON.stringify(got)}, but ${configPath} makes it ${JSON.stringify(want)} (weights do not match the config)`, {
    details: { file, tensor: name, shape: got, expected: want },
  });
}

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export async function loadModelWeights(dir: string, arch: FinetuneArchitecture): Promise<LoadedWeights> {
  const configPath = join(dir, "config.json");
  const st = join(dir, "model.safetensors");
  const onnxPath = join(dir, "onnx", "model.onnx");
  const weights: HfWeights = new Map();
  if (existsSync(st)) {
    const header = await readSafetensorsHeader(st);
    // Some checkpoints name the encoder without its prefix (a bare BertModel): accept either.
    const prefix = arch.parameters[0].name.split(".")[0] + ".";
    const lookup = (name: string) => (header.tensors.has(name) ? name : name.startsWith(prefix) && header.tensors.has(name.slice(prefix.length)) ? name.slice(prefix.length) : undefined);
    const used = new Set<string>();
    for (const p of arch.parameters) {
      const stored = lookup(p.name);
      if (stored === undefined) {
        throw new WinnowError("MODEL_LOAD_FAILED", `${st}: no tensor ${p.name}, which ${configPath} (${arch.modelType}, ${arch.preset.layers} layers) needs (weights do not match the config)`, { details: { file: st, tensor: p.name } });
      }
      const e = header.tensors.get(stored)!;
      if (!sameShape(e.shape, p.shape)) throw mismatch(st, configPath, p.name, e.shape, p.shape);
      weights.set(p.name, { shape: p.shape, data: await readFloatTensor(st, header, stored) });
      used.add(stored);
    }
    const unused = [...header.tensors.keys()].filter((n) => !used.has(n) && !BUFFER.test(n));
    return { weights, file: st, from: "safetensors", unused };
  }
  if (existsSync(onnxPath)) {
    const graph = (await loadModel(onnxPath)).graph ?? {};
    const inits = initializerMap(graph);
    for (const p of arch.parameters) {
      const t = inits.get(p.name);
      if (!t) {
        throw new WinnowError("MODEL_LOAD_FAILED", `${onnxPath}: no initializer named ${p.name} (an export with anonymous weight names); put the checkpoint's model.safetensors in ${dir}`, { details: { file: onnxPath, tensor: p.name } });
      }
      const dims = tensorDims(t);
      const linear = isLinearWeight(p.name, p.shape);
      const want = linear ? [p.shape[1], p.shape[0]] : p.shape;
      if (!sameShape(dims, want)) throw mismatch(onnxPath, configPath, p.name, dims, want);
      const data = floatValues(t);
      weights.set(p.name, { shape: p.shape, data: linear ? transpose(data, dims[0], dims[1]) : Float32Array.from(data) });
    }
    return { weights, file: onnxPath, from: "onnx", unused: [] };
  }
  throw new WinnowError("MODEL_NOT_FOUND", `${dir}: no model.safetensors or onnx/model.onnx to fine-tune from`, { details: { path: dir, missing: ["model.safetensors"] } });
}

/** HF (torch-layout) weights → the graph builder's map (linear weights [in, out]). */
export function toGraphWeights(weights: HfWeights): WeightMap {
  const map: WeightMap = new Map();
  for (const [name, t] of weights) {
    if (isLinearWeight(name, t.shape)) map.set(name, { dims: [t.shape[1], t.shape[0]], data: transpose(t.data, t.shape[0], t.shape[1]) });
    else map.set(name, { dims: t.shape, data: t.data });
  }
  return map;
}
