import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerFinetune } from "../../src/cli/commands/finetune.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { runCommand } from "../support/run-command.js";
import { repoPaths } from "../support/shared-datasets.js";

const MINI = join(repoPaths.root, "examples/scifact-mini");
const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "winnow-finetune.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Processes whose command line mentions `needle` (the trainer names its job file). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle)) pids.push(Number(pid));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe("winnow finetune after a SIGKILL", () => {
  let dir: string;
  let tiny: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-ft-kill-"));
    tiny = await ensureGeneratedModel("tiny-bert");
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("leaves no model folder, and --resume completes the run from its checkpoint with the same step count", async () => {
    const out = join(dir, "mine");
    const args = ["finetune", "--model", tiny, "--dataset", MINI, "--split", "test", "--steps", "40", "--checkpoint-every", "10", "--validation", "none",
      "--max-length", "48", "--batch-tokens", "768", "--threads", "1", "--no-int8", "--out", out, "--format", "json"];
    const child = spawn(process.execPath, ["--import", "tsx", fixture, ...args.slice(0)], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    const checkpoint = join(`${out}.partial`, "checkpoint", "checkpoint.json");
    let killedAt = 0;
    for (let waited = 0; waited < 240_000; waited += 100) {
      if (existsSync(checkpoint)) {
        killedAt = (JSON.parse(readFileSync(checkpoint, "utf8")) as { step: number }).step;
        if (killedAt >= 10 && killedAt < 40) break;
      }
      if (child.exitCode !== null) throw new Error(`finetune ended before a checkpoint: ${stderr}`);
      await sleep(100);
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    // The trainer dies with its parent (PR_SET_PDEATHSIG / a watcher): no orphan keeps training.
    const job = join(`${out}.partial`, "job-train.json");
    for (let i = 0; i < 50 && processesWith(job).length > 0; i++) await sleep(100);
    expect(processesWith(job)).toEqual([]);
    expect(existsSync(out)).toBe(false);
    expect(killedAt).toBeGreaterThanOrEqual(10);

    // Starting over by accident is refused: the checkpoint is named.
    await expect(runCommand(registerFinetune, args)).rejects.toThrow(/holds the checkpoint of an unfinished run: resume it, or remove/);
    const report = JSON.parse(await runCommand(registerFinetune, [...args, "--resume"]));
    expect(report.resumedFrom).toBeGreaterThanOrEqual(killedAt);
    expect(report.steps).toBe(40);
    expect(report.plannedSteps).toBe(40);
    expect(report.loss.curve).toHaveLength(40);
    expect(existsSync(join(out, "onnx", "model.onnx"))).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
  }, 480_000);
});
