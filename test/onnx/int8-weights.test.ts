import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { fuseModel } from "../../src/onnx/fuse.js";
import { classifyInt8Weights, inspectInt8Weights } from "../../src/onnx/int8-weights.js";
import { DataType, loadModel, saveModel } from "../../src/onnx/onnx-graph.js";
import { quantizeModel } from "../../src/onnx/quantize.js";

describe("inspectInt8Weights", () => {
  let dir: string;
  let out: string;
  beforeAll(async () => {
    dir = await ensureGeneratedModel("tiny-bert");
    out = mkdtempSync(join(tmpdir(), "winnow-int8w-"));
  });

  it("reads the weight type from the graph, not the file name: s8, u8, per channel, fp32, and QAttention in a fused graph", async () => {
    const model = await loadModel(join(dir, "onnx", "model.onnx"));
    const write = async (name: string, m: typeof model) => {
      await saveModel(join(out, name), m);
      return inspectInt8Weights(join(out, name));
    };
    expect(await write("model_quantized.onnx", quantizeModel(model, { weights: "s8" }))).toMatchObject({ weights: "s8", integerOps: 14, s8Ops: 14, u8Ops: 0, perChannel: false, sharedS8: 0, nonConstantS8: 0 });
    expect(await write("model_qint8.onnx", quantizeModel(model, { weights: "u8", perChannel: true }))).toMatchObject({ weights: "u8", u8Ops: 14, perChannel: true });
    expect(await inspectInt8Weights(join(dir, "onnx", "model.onnx"))).toMatchObject({ weights: "none", integerOps: 0 });
    const fused = quantizeModel(fuseModel(model).model, { weights: "s8" });
    const info = await write("fused.onnx", fused);
    expect(info).toMatchObject({ weights: "s8" });
    expect(fused.graph!.node!.filter((n) => n.opType === "QAttention")).toHaveLength(2);
    expect(info.integerOps).toBe(fused.graph!.node!.filter((n) => n.opType === "QAttention" || n.opType === "MatMulInteger").length);
  });

  it("counts s8 weights ONNX Runtime's load-time conversion cannot handle: shared between ops, or computed in the graph", () => {
    const s8 = (name: string) => ({ name, dims: [2, 2], dataType: DataType.INT8 });
    const u8zp = { name: "zp_u8", dims: [], dataType: DataType.UINT8 };
    const info = classifyInt8Weights(
      [
        { opType: "MatMulInteger", input: ["a", "w_shared"] },
        { opType: "MatMulInteger", input: ["b", "w_shared"] },
        { opType: "MatMulInteger", input: ["c", "computed"] }, // no zero point: counted as s8
        { opType: "MatMulInteger", input: ["d", "computed_u8", "", "zp_u8"] }, // its zero point says u8
        { opType: "If", input: ["cond"], attribute: [{ name: "then_branch", g: { node: [{ opType: "DynamicQuantizeMatMul", input: ["x", "w_sub", "scale", ""] }] } }] },
      ],
      [s8("w_shared"), s8("w_sub"), u8zp],
    );
    expect(info).toMatchObject({ weights: "mixed", integerOps: 5, s8Ops: 4, u8Ops: 1, sharedS8: 1, nonConstantS8: 1 });
  });
});
