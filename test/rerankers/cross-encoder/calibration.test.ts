import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyCalibration, fitPlatt, loadCalibration, saveCalibration } from "../../../src/rerankers/cross-encoder/calibration.js";

/** Seeded LCG so the sample is the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("Platt calibration", () => {
  it("recovers the logistic mapping that generated the labels", () => {
    const rand = rng(7);
    const a = 1.7, b = -0.8;
    const logits: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = (rand() - 0.5) * 8;
      logits.push(x);
      labels.push(rand() < 1 / (1 + Math.exp(-(a * x + b))) ? 1 : 0);
    }
    const fit = fitPlatt(logits, labels);
    expect(fit.a).toBeCloseTo(a, 1);
    expect(fit.b).toBeCloseTo(b, 1);
    expect(fit.iterations).toBeLessThan(50);
    expect(applyCalibration(fit, 0.8 / 1.7)).toBeCloseTo(0.5, 1);
  });

  it("converges when the logit scale is far from the starting guess (damped Newton)", () => {
    const rand = rng(3);
    const logits: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const x = (rand() - 0.5) * 8;
      logits.push(x * 50); // a model whose logits are 50× too confident
      labels.push(rand() < 1 / (1 + Math.exp(-x)) ? 1 : 0);
    }
    const fit = fitPlatt(logits, labels);
    expect(fit.a).toBeCloseTo(1 / 50, 2);
    expect(fit.logLoss).toBeLessThan(0.6);
  });

  it("stays finite on perfectly separable data", () => {
    const fit = fitPlatt([-3, -2, -1, 1, 2, 3], [0, 0, 0, 1, 1, 1]);
    expect(Number.isFinite(fit.a) && Number.isFinite(fit.b)).toBe(true);
    expect(applyCalibration(fit, 3)).toBeGreaterThan(0.5);
    expect(applyCalibration(fit, 3)).toBeLessThan(1);
  });

  it("rejects one-class or malformed input, and round-trips through a file", () => {
    expect(() => fitPlatt([1, 2], [1, 1])).toThrow(expect.objectContaining({ code: "INVALID_INPUT", details: { field: "labels" } }));
    expect(() => fitPlatt([1, 2], [1, 2])).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    const dir = mkdtempSync(join(tmpdir(), "winnow-calib-"));
    try {
      const path = join(dir, "calib.json");
      saveCalibration(path, { kind: "platt", a: 2, b: 1, model: "m" });
      expect(loadCalibration(path)).toMatchObject({ kind: "platt", a: 2, b: 1, model: "m" });
      expect(() => loadCalibration(join(dir, "missing.json"))).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
      expect(() => loadCalibration({ kind: "platt", a: Number.NaN, b: 0 })).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
