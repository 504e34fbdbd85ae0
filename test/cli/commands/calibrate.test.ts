import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPlatt, register } from "../../../src/cli/commands/calibrate.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { sharedDataset } from "../../support/shared-datasets.js";
import { runCommandStdout } from "../../support/run-command.js";

const runCalibrate = (args: string[]) => runCommandStdout(register, ["calibrate", ...args]);

describe("formatPlatt", () => {
  it("prints the intercept's sign once", () => {
    expect(formatPlatt(0.9, -4.485)).toBe("p = sigmoid(0.9000 · logit - 4.4850)");
    expect(formatPlatt(-1.25, 0.5)).toBe("p = sigmoid(-1.2500 · logit + 0.5000)");
    expect(formatPlatt(1, 0)).toBe("p = sigmoid(1.0000 · logit + 0.0000)");
  });
});

const adi = sharedDataset("adi");
describe.skipIf(!adi.present)(`winnow calibrate output${adi.skipNote}`, () => {
  let model: string;
  let dir: string;
  beforeAll(async () => {
    model = await ensureGeneratedModel("tiny-bert");
    dir = mkdtempSync(join(tmpdir(), "winnow-calibrate-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the fitted mapping with a negative intercept as `- b`, matching the file", async () => {
    const out = join(dir, "calib.json");
    const text = await runCalibrate(["--model", model, "--dataset", adi.dir, "--split", "test", "--queries", "10", "--candidates", "5", "--out", out]);
    const calib = JSON.parse(readFileSync(out, "utf8")) as { a: number; b: number };
    // These 10 queries fit a negative intercept (b ≈ -2.55 with the generated tiny-bert): the case that printed "+ -".
    expect(calib.b).toBeLessThan(0);
    expect(text).toContain(`p = sigmoid(${calib.a.toFixed(4)} · logit - ${Math.abs(calib.b).toFixed(4)})`);
    expect(text).not.toContain("+ -");
  });
});
