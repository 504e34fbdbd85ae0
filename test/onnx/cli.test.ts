import { describe, expect, it, vi, afterEach } from "vitest";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import * as generateModel from "../../src/cli/commands/generate-model.js";
import * as quantize from "../../src/cli/commands/quantize.js";
import * as optimize from "../../src/cli/commands/optimize.js";
import { UsageError } from "../../src/cli/usage-error.js";

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
    expect(log.mock.calls.at(-1)?.[0]).toMatch(/14 MatMul and 0 Attention nodes in int8 \(per-channel\)/);
    await run("optimize", "--in", join(dir, "onnx", "model.onnx"), "--out", join(dir, "onnx", "model_fused.onnx"), "--quantize");
    expect(log.mock.calls.some((c) => /attention 2/.test(String(c[0])))).toBe(true);
    expect(log.mock.calls.at(-1)?.[0]).toMatch(/8 MatMul and 2 Attention nodes in int8/);
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
  });
});
