import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export interface MeasuredRun {
  stdout: string;
  /** Wall-clock seconds from spawn to exit. */
  seconds: number;
  /** Peak resident set (max RSS) in MB, from GNU time when present, else sampled from /proc every 50 ms. */
  peakRssMb: number;
}

const GNU_TIME = "/usr/bin/time";

/** Runs a command to completion, measuring its wall time and peak RSS; rejects with its stderr tail on failure. */
export function runMeasured(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<MeasuredRun> {
  const useTime = existsSync(GNU_TIME);
  const [cmd, argv] = useTime ? [GNU_TIME, ["-v", command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let sampledKb = 0;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
    });
    const sampler = useTime
      ? undefined
      : setInterval(() => {
          try {
            const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
            const m = /VmHWM:\s+(\d+)/.exec(status);
            if (m) sampledKb = Math.max(sampledKb, Number(m[1]));
          } catch {
            // the process may have exited between samples
          }
        }, 50);
    child.on("error", reject);
    child.on("close", (code) => {
      if (sampler) clearInterval(sampler);
      const seconds = (performance.now() - t0) / 1000;
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      const peakKb = m ? Number(m[1]) : sampledKb;
      if (code !== 0) {
        const tail = stderr.replace(/\tCommand being timed[\s\S]*$/, "").trim().split("\n").slice(-5).join("\n");
        reject(new Error(`${command} ${args.join(" ")} exited with ${code}: ${tail}`));
        return;
      }
      resolve({ stdout, seconds, peakRssMb: peakKb / 1024 });
    });
  });
}

/** Bytes under a path (files only, recursively) in MB. */
export function diskMb(path: string): number {
  let bytes = 0;
  const walk = (p: string) => {
    const s = statSync(p);
    if (s.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else bytes += s.size;
  };
  walk(path);
  return bytes / (1024 * 1024);
}
