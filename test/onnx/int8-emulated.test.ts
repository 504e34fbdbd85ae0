/**
 * The int8 path on an x86 CPU without VNNI, whatever CPU runs the suite: the same check
 * runs natively and under `qemu-x86_64 -cpu Haswell-v4` (AVX2, no AVX-512, no VNNI), where
 * ONNX Runtime picks its AVX2 kernels, whose u8×s8 pair sums saturate at int16. qemu-user
 * comes from scripts/install-services.sh (run by `npm test`). Emulation is ~50x slower,
 * so the model is tiny-bert and the pairs are 8 short ones.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { quantizeFile } from "../../src/onnx/quantize.js";
import { repoRoot } from "../support/shared-datasets.js";
import { errorOverSpread, fp32Reference, runInt8Check, type Int8CheckInput, type Int8CheckResult } from "./int8-check.js";

const QEMU = "qemu-x86_64";
const CPU = "Haswell-v4";

function emulated(inputFile: string): Promise<Int8CheckResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, ["-cpu", CPU, process.execPath, "--import", "tsx", join(repoRoot, "test/onnx/int8-check.ts"), inputFile], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b));
    // qemu warns once per CPU feature its TCG lacks (pcid, x2apic…): noise, not failures.
    child.stderr.on("data", (b: Buffer) => (err += b));
    child.on("error", (e) => reject(new Error(`cannot start ${QEMU} (${e.message}): install qemu-user (scripts/install-services.sh does, as part of npm test)`)));
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      const stderr = err.split("\n").filter((l) => !l.includes("TCG doesn't support requested feature")).join("\n");
      if (code !== 0 || !line) reject(new Error(`emulated check exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(line.slice(7)) as Int8CheckResult);
    });
  });
}

const root = mkdtempSync(join(tmpdir(), "winnow-int8-emulated-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(process.arch !== "x64")(`int8 on x86 without VNNI (${QEMU} -cpu ${CPU})${process.arch !== "x64" ? " (skipped: needs an x86-64 host to emulate one)" : ""}`, () => {
  it("the probe finds u8×s8 unsafe there, the auto scheme stays within the native error, and an s8 graph is detected and fixed", async () => {
    const modelDir = await ensureGeneratedModel("tiny-bert");
    // A folder whose only int8 graph holds s8 weights, as a VNNI host would have generated it.
    const s8Dir = join(root, "s8");
    mkdirSync(join(s8Dir, "onnx"), { recursive: true });
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "onnx/model.onnx"]) cpSync(join(modelDir, f), join(s8Dir, f));
    await quantizeFile(join(modelDir, "onnx", "model.onnx"), join(s8Dir, "onnx", "model_quantized.onnx"), { weights: "s8" });
    const docs = readFileSync(join(repoRoot, "examples/scifact-mini/corpus.jsonl"), "utf8")
      .trim()
      .split("\n")
      .slice(0, 8)
      .map((l) => (JSON.parse(l) as { text: string }).text);
    const input = (name: string): Int8CheckInput => {
      mkdirSync(join(root, name));
      return { modelDir, s8Dir, workDir: join(root, name), query: "vitamin D and cancer risk", docs };
    };
    const emuInput = join(root, "emulated.json");
    writeFileSync(emuInput, JSON.stringify(input("emulated")));
    const [emu, native, fp32] = await Promise.all([emulated(emuInput), runInt8Check(input("native")), fp32Reference(input("fp32"))]);

    // (a) What ONNX Runtime does there: u8×s8 saturates; u8×u8 and the load-time conversion are exact.
    expect(emu.probe.s8.exact).toBe(false);
    expect(emu.probe.s8.maxRelError).toBeGreaterThan(0.1);
    expect(emu.probe.u8.exact).toBe(true);
    expect(emu.probe.s8PrecisionMode.exact).toBe(true);
    expect(emu.probe.recommended).toBe("u8");
    expect(emu.probe.kernel).toMatch(/AVX2 u8×u8/);

    // (b) The auto scheme there is u8, and its error is what a native run gets (the same integers).
    expect(emu.auto.weights).toBe("u8");
    const nativeAuto = errorOverSpread(fp32.file, native.auto.logits);
    const emuAuto = errorOverSpread(fp32.file, emu.auto.logits);
    expect(nativeAuto).toBeLessThanOrEqual(0.35);
    expect(emuAuto).toBeLessThanOrEqual(0.35);
    expect(emuAuto).toBeLessThanOrEqual(1.25 * nativeAuto);

    // (c) The s8 graph there really is wrong, the loader says so, and what it loads instead is right.
    const emuS8 = errorOverSpread(fp32.file, emu.s8Raw);
    expect(emuS8).toBeGreaterThan(0.35);
    expect(emuS8).toBeGreaterThan(2 * emuAuto);
    expect(emu.loader.int8).toMatchObject({ file: "onnx/model_quantized.onnx", weights: "s8", how: "precision-mode", exact: true });
    expect(native.loader.int8.exact).toBe(true);
    const nativeLoader = errorOverSpread(fp32.reranker, native.loader.logits);
    const emuLoader = errorOverSpread(fp32.reranker, emu.loader.logits);
    expect(emuLoader).toBeLessThanOrEqual(0.35);
    expect(emuLoader).toBeLessThanOrEqual(1.25 * nativeLoader);
  }, 900_000);
});
