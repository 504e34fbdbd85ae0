import { describe, expect, it, vi, afterEach } from "vitest";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import * as generateModel from "../../src/cli/commands/generate-model.js";
import * as quantize from "../../src/cli/commands/quantize.js";
import * as optimize from "../../src/cli/commands/optimize.js";
import { UsageError } from "../../src/cli/usage-error.js";
import { probeInt8Kernels } from "../../src/onnx/int8-kernel-probe.js";
import { inspectInt8Weights } from "../../src/onnx/int8-weights.js";

function program(): Command {
  const p = new Command().exitOverride();
  for (const m of [generateModel, quantize, optimize]) m.register(p);
  return p;
}
const run = (...args: string[]) => program().parseAsync(["node", "winnow", ...args]);

describe("winnow generate-model / quantize / optimize", () => {
  afterEach(() => vi.restoreAllMocks());

  it("generates a folder, quantizes it and fuses it from the command line", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const dir = join(mkdtempSync(join(tmpdir(), "winnow-cli-")), "model");
    await run("generate-model", "--preset", "tiny-bert", "--out", dir, "--seed", "3", "--no-quantized");
    expect(readdirSync(join(dir, "onnx"))).toEqual(["model.onnx"]);
    await run("quantize", "--in", join(dir, "onnx", "model.onnx"), "--out", join(dir, "onnx", "model_quantized.onnx"), "--per-channel");
    expect(log.mock.calls.at(-1)?.[0]).toMatch(/14 MatMul and 0 Attention nodes in int8 \(per-channel, (s8|u8) weights\) — auto: /);
    // The probe's verdict is printed before the summary.
    expect(log.mock.calls.at(-2)?.[0]).toMatch(/^int8 kernels: .* → auto scheme (s8|u8)/);
    await run("optimize", "--in", join(dir, "onnx", "model.onnx"), "--out", join(dir, "onnx", "model_fused.onnx"), "--quantize");
    expect(log.mock.calls.some((c) => /attention 2/.test(String(c[0])))).toBe(true);
    expect(log.mock.calls.at(-1)?.[0]).toMatch(/8 MatMul and 2 Attention nodes in int8 \((s8|u8) weights\) — auto: /);
    expect(existsSync(join(dir, "onnx", "model_fused.onnx"))).toBe(true);
    // The flash-attention rewrite also applies to the int8 graph.
    await run("optimize", "--in", join(dir, "onnx", "model_quantized.onnx"), "--out", join(dir, "onnx", "model_flash.onnx"), "--flash-attention", "--no-skip-layer-norm", "--no-bias-gelu");
    expect(log.mock.calls.at(-1)?.[0]).toMatch(/multiHeadAttention 2/);
    expect(existsSync(join(dir, "onnx", "model_flash.onnx"))).toBe(true);
  });

  it("rejects bad flag values with a usage error naming the flag", async () => {
    await expect(run("generate-model", "--preset", "gpt-5", "--out", tmpdir())).rejects.toThrow(/--preset must be one of/);
    await expect(run("generate-model", "--preset", "tiny-bert", "--out", tmpdir(), "--seed", "-4")).rejects.toBeInstanceOf(UsageError);
    await expect(run("quantize", "--in", "a.onnx", "--out", "a.onnx")).rejects.toThrow(/--out must differ from --in/);
    await expect(run("optimize", "--in", "a.onnx", "--out", "b.onnx", "--flash-attention", "--no-attention")).rejects.toThrow(/contradict/);
    await expect(run("quantize", "--in", "a.onnx", "--out", "b.onnx", "--queries", "0")).rejects.toThrow(/--queries must be an integer >= 1/);
    await expect(run("quantize", "--in", "a.onnx", "--out", "b.onnx", "--weights", "s4")).rejects.toThrow(/--weights must be one of s8, u8, s8-reduce-range, auto, got "s4"/);
    await expect(run("quantize", "--in", "a.onnx", "--out", "b.onnx", "--weights", "u8", "--reduce-range")).rejects.toThrow(/--reduce-range contradicts --weights u8/);
    await expect(run("optimize", "--in", "a.onnx", "--out", "b.onnx", "--weights", "u8")).rejects.toThrow(/--weights needs --quantize/);
    await expect(run("generate-model", "--preset", "tiny-bert", "--out", tmpdir(), "--int8-weights", "u4")).rejects.toBeInstanceOf(UsageError);
    await expect(run("generate-model", "--preset", "tiny-bert", "--out", tmpdir(), "--no-quantized", "--int8-weights", "u8")).rejects.toThrow(/contradicts --no-quantized/);
  });

  it("writes the weight scheme a flag asks for, says which one the generator chose, and warns when it is not exact here", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const dir = join(mkdtempSync(join(tmpdir(), "winnow-cli-")), "model");
    await run("generate-model", "--preset", "tiny-bert", "--out", dir, "--seed", "3");
    const probe = await probeInt8Kernels();
    expect(log.mock.calls.at(-1)?.[0]).toMatch(new RegExp(`model_quantized.onnx has ${probe.recommended} weights \\(auto: `));
    expect((await inspectInt8Weights(join(dir, "onnx", "model_quantized.onnx"))).weights).toBe(probe.recommended);
    for (const weights of ["s8", "u8"] as const) {
      const out = join(dir, "onnx", `model_${weights}.onnx`);
      await run("quantize", "--in", join(dir, "onnx", "model.onnx"), "--out", out, "--weights", weights);
      expect(log.mock.calls.at(-1)?.[0]).toMatch(new RegExp(`\\(per-tensor, ${weights} weights\\) — as asked`));
      expect((await inspectInt8Weights(out)).weights).toBe(weights);
    }
    const warned = err.mock.calls.some((c) => /warning: s8 weights are not multiplied exactly/.test(String(c[0])));
    expect(warned).toBe(!probe.s8.exact);
  });
});
