/**
 * Choosing the int8 graph of a cross-encoder that computes correctly on this CPU. The
 * int8 kernel probe says which weight types ONNX Runtime multiplies exactly here; the
 * graph itself says which type it holds (file names promise nothing). Where they clash
 * (s8 weights on an x86 CPU without VNNI, whose u8×s8 kernels saturate), in order:
 *   1. ONNX Runtime's own fix, `session.x64quantprecision`: it stores the s8 weights as
 *      u8 (+128) at load, the same integers, so the scores equal a VNNI host's. Used when
 *      the probe shows it exact and every s8 weight is a constant it can convert.
 *   2. Otherwise (`unsafeInt8: "requantize"`, the default) the fp32 graph is quantized here
 *      with the scheme exact on this CPU, cached (atomic write) under the int8 cache;
 *      when that cannot be done, fp32 with a one-line warning.
 * Scores are never silently degraded: `unsafeInt8: "keep"` loads the file as it is, with
 * a warning, and the state says it is not exact.
 */
import { createHash } from "node:crypto";
import { existsSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { WinnowError } from "../../core/errors.js";
import type { HubCacheEnv } from "../../models/hub-cache.js";
import { loadModel, saveModel } from "../../onnx/onnx-graph.js";
import { quantizeModel, type QuantizeReport } from "../../onnx/quantize.js";
import type { Int8KernelProbe, Int8WeightScheme } from "../../onnx/int8-kernel-probe.js";
import type { Int8WeightKind, Int8WeightsInfo } from "../../onnx/int8-weights.js";
import type { CatalogueEntry } from "./catalogue.js";

/** What to do when the int8 graph's weights are not exact on this CPU and ONNX Runtime cannot fix them at load. */
export type UnsafeInt8Policy = "requantize" | "fp32" | "keep";
export const UNSAFE_INT8_POLICIES: readonly UnsafeInt8Policy[] = ["requantize", "fp32", "keep"];

/**
 * How the int8 graph that runs was obtained: the file as published, the file with ONNX
 * Runtime's s8→u8 load-time rewrite, a local requantization of the fp32 graph, fp32
 * instead, or the file kept although not exact here.
 */
export type Int8Source = "as-published" | "precision-mode" | "requantized" | "fp32-fallback" | "kept-unsafe";

export interface Int8State {
  /** The int8 file chosen in the model folder (relative path). */
  file: string;
  /** Integer type of that file's weights. */
  weights: Int8WeightKind;
  how: Int8Source;
  /** Whether the scores the session computes are exact int8 arithmetic on this CPU (false only for "kept-unsafe"). */
  exact: boolean;
  /** Why, in one line. */
  reason: string;
  /** The graph the session runs: the model folder's file, a requantized copy (absolute path), or the fp32 file. */
  runs: string;
  /** The probe's kernel family and auto scheme. */
  kernel: string;
  recommended: Int8WeightScheme;
}

/** The int8 files to try, best first, for this CPU: catalogue variants (s8 first where s8 is exact), else the HF default name. */
export function int8Candidates(entry: CatalogueEntry | undefined, probe: Int8KernelProbe, defaultFile: string): string[] {
  const variants = entry?.int8Files;
  if (!variants || variants.length === 0) return [entry?.onnxFiles.int8 ?? defaultFile];
  const preferred = probe.s8.exact ? "s8" : "u8";
  return [...variants.filter((v) => v.weights === preferred), ...variants.filter((v) => v.weights !== preferred)].map((v) => v.file);
}

export type Int8Plan =
  | { action: "load"; exact: true; reason: string }
  | { action: "precision-mode"; reason: string }
  | { action: "unsafe"; reason: string };

/** What the file's weights need on a CPU with this probe result. */
export function planInt8(file: string, info: Int8WeightsInfo, probe: Int8KernelProbe): Int8Plan {
  if (info.weights === "none") return { action: "load", exact: true, reason: `${file} has no integer matrix ops (nothing to check)` };
  const s8Ok = info.s8Ops === 0 || probe.s8.exact;
  const u8Ok = info.u8Ops === 0 || probe.u8.exact;
  if (s8Ok && u8Ok) return { action: "load", exact: true, reason: `${file} holds ${info.weights} weights, exact on this CPU (${probe.kernel})` };
  const what = `${file} holds ${info.weights} weights, which ONNX Runtime's kernels on this CPU do not multiply exactly (${probe.kernel})`;
  if (!u8Ok || !probe.s8PrecisionMode.exact) return { action: "unsafe", reason: what };
  if (info.nonConstantS8 > 0) return { action: "unsafe", reason: `${what}; ${info.nonConstantS8} of them are computed in the graph, which ONNX Runtime's s8→u8 rewrite cannot convert` };
  if (info.sharedS8 > 0) return { action: "unsafe", reason: `${what}; ${info.sharedS8} are shared between ops, which ONNX Runtime's s8→u8 rewrite fails on` };
  return { action: "precision-mode", reason: `${what}; ONNX Runtime converts them to u8 at load (session.x64quantprecision), the same integers, so scores equal a VNNI host's` };
}

/** Where local requantizations are cached: `$WINNOW_CACHE/int8`, else `$XDG_CACHE_HOME/winnow/int8`, else `~/.cache/winnow/int8`. */
export function int8CacheDir(env: HubCacheEnv & { XDG_CACHE_HOME?: string } = process.env as HubCacheEnv): string {
  if (env.WINNOW_CACHE) return join(env.WINNOW_CACHE, "int8");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "winnow", "int8");
}

/** Bump when requantize's output for the same input changes, so cached files are rebuilt. */
const REQUANTIZE_VERSION = 1;

/**
 * `fp32Path` quantized with `weights` (per channel when `perChannel`), cached under
 * `cacheDir` by the fp32 file's identity (real path, size, mtime) and the scheme, and
 * written atomically. Returns the cached path and whether it was made now.
 */
export async function requantizeCached(fp32Path: string, weights: Int8WeightScheme, perChannel: boolean, cacheDir: string): Promise<{ path: string; created: boolean; report?: QuantizeReport }> {
  const real = realpathSync(fp32Path);
  const st = statSync(real);
  const key = createHash("sha256")
    .update(JSON.stringify({ real, size: st.size, mtimeMs: st.mtimeMs, weights, perChannel, v: REQUANTIZE_VERSION }))
    .digest("hex")
    .slice(0, 32);
  const path = join(cacheDir, `${key}-${weights}${perChannel ? "-per-channel" : ""}.onnx`);
  if (existsSync(path)) return { path, created: false };
  const report: QuantizeReport = { quantizedMatMuls: 0, quantizedAttention: 0, skipped: 0 };
  const quantized = quantizeModel(await loadModel(fp32Path), { weights, perChannel }, report);
  if (report.quantizedMatMuls + report.quantizedAttention === 0) {
    throw new WinnowError("MODEL_LOAD_FAILED", `${fp32Path} has no MatMul with a constant float weight to quantize`, { details: { path: fp32Path } });
  }
  await saveModel(path, quantized);
  return { path, created: true, report };
}
