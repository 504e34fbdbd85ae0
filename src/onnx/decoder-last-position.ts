/**
 * A load-time rewrite of decoder exports: the lm_head reads only the last position.
 * Exports compute logits for every position ([batch, seq, vocab]: for Qwen3-0.6B at 400
 * tokens, 400 × 151k floats and a 1024 × 151k MatMul per row), while a reranker reads one
 * position, the last (rows are left-padded). The rewrite gathers position −1 of the final
 * hidden states before the lm_head MatMul, so logits become [batch, 1, vocab]; nothing
 * else changes, so scores are identical (a test compares both graphs). Written to a
 * temporary copy (weights copied byte for byte, never held in memory, model-splice.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onnx, type NodeProto } from "./onnx-graph.js";
import { readModelSkeleton, writeModelWithNodes } from "./model-splice.js";

const LM_HEAD_OPS = new Set(["MatMul", "DynamicQuantizeMatMul", "MatMulNBits"]);

export type LastPositionGraph = { path: string; cleanup: () => Promise<void> } | { reason: string };

/** The graph's nodes with the lm_head restricted to the last position, or why that cannot be done. */
export function lastPositionNodes(nodes: readonly NodeProto[]): NodeProto[] | { reason: string } {
  const at = nodes.findIndex((n) => (n.output ?? []).includes("logits"));
  if (at < 0) return { reason: "no node produces logits" };
  const head = nodes[at];
  // fp32 exports, dynamic-int8 (DynamicQuantizeMatMul) and 4-bit (MatMulNBits) ones: input 0 is the hidden state.
  if (!LM_HEAD_OPS.has(head.opType ?? "") || (head.input ?? []).length < 2) return { reason: `logits come from ${head.opType}, not an lm_head matrix multiply the rewrite knows (${[...LM_HEAD_OPS].join(", ")})` };
  const index: NodeProto = {
    name: "winnow_last_position_index",
    opType: "Constant",
    input: [],
    output: ["winnow_last_position_index"],
    attribute: [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims: [1], dataType: 7, int64Data: [-1] } }],
  };
  const gather: NodeProto = {
    name: "winnow_last_position",
    opType: "Gather",
    input: [head.input![0], "winnow_last_position_index"],
    output: ["winnow_last_position_hidden"],
    attribute: [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
  };
  const rewritten: NodeProto = { ...head, input: ["winnow_last_position_hidden", ...head.input!.slice(1)] };
  return [...nodes.slice(0, at), index, gather, rewritten, ...nodes.slice(at + 1)];
}

export async function lastPositionGraph(path: string): Promise<LastPositionGraph> {
  let skeleton;
  try {
    skeleton = await readModelSkeleton(path);
  } catch (err) {
    return { reason: `cannot read the graph: ${(err as Error).message}` };
  }
  // External data is found relative to the model file: a copy elsewhere would lose it.
  if ((skeleton.model.graph?.initializer ?? []).some((t) => t.dataLocation === 1)) return { reason: "weights are in an external data file" };
  const nodes = lastPositionNodes(skeleton.model.graph?.node ?? []);
  if (!Array.isArray(nodes)) return nodes;
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), "winnow-last-position-"));
  } catch (err) {
    return { reason: `cannot create a temporary folder: ${(err as Error).message}` };
  }
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    await writeModelWithNodes(skeleton, nodes, [], join(dir, "model.onnx"));
  } catch (err) {
    await cleanup();
    return { reason: `cannot write the rewritten graph: ${(err as Error).message}` };
  }
  return { path: join(dir, "model.onnx"), cleanup };
}
