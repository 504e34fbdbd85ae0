import { describe, expect, it } from "vitest";
import { lastPositionNodes } from "../../src/onnx/decoder-last-position.js";
import type { NodeProto } from "../../src/onnx/onnx-graph.js";

const norm: NodeProto = { name: "norm", opType: "Mul", input: ["a", "b"], output: ["normed"] };
const after: NodeProto = { name: "softcap", opType: "Tanh", input: ["x"], output: ["y"] };

describe("lastPositionNodes", () => {
  for (const opType of ["MatMul", "DynamicQuantizeMatMul", "MatMulNBits"]) {
    it(`${opType} lm_head: gathers position -1 of its hidden-state input, keeps its other inputs`, () => {
      const head: NodeProto = { name: "lm_head", opType, input: ["normed", "w", ...(opType === "MatMul" ? [] : ["scale"])], output: ["logits"] };
      const out = lastPositionNodes([norm, head, after]);
      expect(Array.isArray(out)).toBe(true);
      const nodes = out as NodeProto[];
      expect(nodes.map((n) => n.opType)).toEqual(["Mul", "Constant", "Gather", opType, "Tanh"]);
      const gather = nodes[2];
      expect(gather.input).toEqual(["normed", "winnow_last_position_index"]);
      expect(gather.attribute?.[0]).toMatchObject({ name: "axis", i: 1 });
      expect(nodes[1].attribute?.[0].t).toMatchObject({ dims: [1], int64Data: [-1] });
      expect(nodes[3].input).toEqual(["winnow_last_position_hidden", ...head.input!.slice(1)]);
    });
  }

  it("says why when logits come from something else, or from nothing", () => {
    expect(lastPositionNodes([norm, { name: "x", opType: "Gemm", input: ["normed", "w"], output: ["logits"] }])).toMatchObject({ reason: expect.stringContaining("logits come from Gemm") });
    expect(lastPositionNodes([norm])).toEqual({ reason: "no node produces logits" });
  });
});
