import { afterEach, describe, expect, it, vi } from "vitest";
import * as ort from "onnxruntime-node";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { defaultDtypeFor, floatOutput, halfToFloat, ortSessionOptions, resolveExecutionProviders } from "../../../src/rerankers/cross-encoder/execution-providers.js";
import { CrossEncoderReranker } from "../../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { DecoderReranker } from "../../../src/rerankers/decoder/decoder-reranker.js";
import { WinnowError } from "../../../src/core/errors.js";

// No GPU exists here or in CI: these tests check what reaches ONNX Runtime, not a GPU run.
describe("executionProviders", () => {
  afterEach(() => vi.restoreAllMocks());

  it("defaults to the CPU, keeps the order given, appends the CPU fallback, refuses unknown names", () => {
    expect(resolveExecutionProviders({})).toEqual(["cpu"]);
    expect(resolveExecutionProviders({ executionProviders: ["CUDA"] })).toEqual(["cuda", "cpu"]);
    expect(resolveExecutionProviders({ executionProviders: ["webgpu", "cpu", "webgpu"] })).toEqual(["webgpu", "cpu"]);
    expect(resolveExecutionProviders({ executionProvider: "dml" })).toEqual(["dml", "cpu"]);
    expect(() => resolveExecutionProviders({ executionProviders: ["tpu"] })).toThrow(/executionProviders: unknown provider "tpu" \(known: cpu, cuda/);
    expect(() => resolveExecutionProviders({ executionProviders: [] })).toThrow(WinnowError);
    expect(ortSessionOptions({ executionProviders: ["coreml"] }, 2).executionProviders).toEqual(["coreml", "cpu"]);
  });

  it("the dtype follows the provider: the catalogue's on the CPU, fp16 (where published) or fp32 on an accelerator", () => {
    expect(defaultDtypeFor(["cpu"], "int8", true)).toBe("int8");
    expect(defaultDtypeFor(["cpu"], undefined, true)).toBe("fp32");
    expect(defaultDtypeFor(["cuda", "cpu"], "int8", true)).toBe("fp16");
    expect(defaultDtypeFor(["cuda", "cpu"], "int8", false)).toBe("fp32");
  });

  it("reads fp16 outputs as float32", () => {
    expect(Array.from(halfToFloat(Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0])))).toEqual([1, -2, 0.333251953125, 2 ** -24, Infinity, 0]);
    expect(floatOutput(Float32Array.of(1.5), "float32")[0]).toBe(1.5);
  });

  for (const kind of ["cross-encoder", "decoder"] as const) {
    it(`${kind}: the providers reach InferenceSession.create, and without a dtype an accelerator gets fp32 here (no fp16 file)`, async () => {
      const dir = await ensureGeneratedModel(kind === "decoder" ? "tiny-qwen3" : "tiny-bert");
      const real = ort.InferenceSession.create.bind(ort.InferenceSession) as (path: string, o: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
      const seen: unknown[] = [];
      vi.spyOn(ort.InferenceSession, "create").mockImplementation((async (path: string, options: ort.InferenceSession.SessionOptions) => {
        seen.push(options.executionProviders);
        // Run on the CPU: the point is what was asked for.
        return real(path, { ...options, executionProviders: ["cpu"] });
      }) as never);
      const options = { model: dir, executionProviders: ["cuda"], flashAttention: false as const };
      const r = kind === "decoder" ? await DecoderReranker.load({ model: dir, executionProviders: ["cuda"] }) : await CrossEncoderReranker.load(options);
      try {
        expect(seen.length).toBeGreaterThan(0);
        for (const p of seen) expect(p).toEqual(["cuda", "cpu"]);
        expect(r.model!.dtype).toBe("fp32");
        expect((await r.rerank("q", ["a document", "another"])).length).toBe(2);
      } finally {
        await r.close();
      }
    });
  }
});
