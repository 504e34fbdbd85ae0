/** Runs the Python trainer on a job and turns its JSON-line progress into events. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic-file.js";
import { WinnowError } from "../core/errors.js";
import { trainerScriptPath, type TrainerJob } from "./trainer-protocol.js";

export type TrainerEvent =
  | { event: "start"; protocol: number; total_steps: number; steps_per_epoch: number; groups: number; group_size: number; rows: number; parameters: number; resumed_from: number | null; threads: number }
  | { event: "step"; step: number; total: number; loss: number; lr: number; seconds: number }
  | { event: "validation"; step: number; ndcg10: number }
  | { event: "checkpoint"; step: number }
  | { event: "early_stop"; step: number; best_step: number; patience: number }
  | { event: "done"; steps?: number; rows?: number }
  | { event: "error"; message: string };

export interface RunTrainerOptions {
  python: string;
  /** Folder the job file is written to. */
  workDir: string;
  onEvent?: (e: TrainerEvent) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** Resolves when the trainer reports "done"; a refusal, crash or kill rejects with a one-line WinnowError. */
export async function runTrainer(job: TrainerJob, options: RunTrainerOptions): Promise<void> {
  const jobPath = join(options.workDir, `job-${job.mode}.json`);
  await writeFileAtomic(jobPath, JSON.stringify(job, null, 1) + "\n");
  const script = trainerScriptPath();
  const env = options.env ?? process.env;
  // OpenMP's default spin-waiting makes torch's threads fight any other load on the cores
  // (measured here: 9.6 s a step with 2 threads on a busy 2-core machine, 0.78 s passive).
  const child = spawn(options.python, [script, jobPath], { stdio: ["ignore", "pipe", "pipe"], env: { ...env, OMP_WAIT_POLICY: env.OMP_WAIT_POLICY ?? "PASSIVE" } });
  const onAbort = () => child.kill("SIGTERM");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let refusal: string | undefined;
  let done = false;
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    let e: TrainerEvent;
    try {
      e = JSON.parse(line) as TrainerEvent;
    } catch {
      return; // a stray print from torch: not protocol
    }
    if (e.event === "error") refusal = e.message;
    if (e.event === "done") done = true;
    options.onEvent?.(e);
  });
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on("error", (err) => reject(new WinnowError("CONFIG_INVALID", `cannot run ${options.python}: ${err.message}`, { cause: err })));
    child.on("close", (c, s) => resolve([c, s]));
  }).finally(() => options.signal?.removeEventListener("abort", onAbort));
  if (options.signal?.aborted) throw new WinnowError("ABORTED", "fine-tuning aborted (the checkpoint, if any, can be resumed)");
  if (refusal !== undefined) throw new WinnowError("INVALID_INPUT", refusal, { details: { script } });
  if (code !== 0 || !done) {
    const tail = stderr.trim().split("\n").slice(-1)[0] ?? "";
    throw new WinnowError("INTERNAL", `${options.python} ${script} ${sig ? `was killed (${sig})` : `exited with ${code}`}${tail ? `: ${tail}` : ""}`, { details: { code, signal: sig } });
  }
}
