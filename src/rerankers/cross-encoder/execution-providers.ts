import type { InferenceSession as OrtSession } from "onnxruntime-node";
import { WinnowError } from "../../core/errors.js";
import type { Dtype } from "./catalogue.js";

/**
 * ONNX Runtime execution providers, as `executionProviders: ["cuda", "cpu"]`. CPU is the
 * default and always the last fallback (ONNX Runtime places the ops a provider lacks on
 * it). Which providers a given onnxruntime-node build has is its own business (Linux x64:
 * cpu, webgpu, and cuda / tensorrt with their libraries installed; Windows: dml; macOS:
 * coreml); a session that cannot start on one fails with ONNX Runtime's message.
 * Nothing here can be exercised on a GPU in this project's CI: the tests check the plumbing.
 */
export const EXECUTION_PROVIDERS = ["cpu", "cuda", "tensorrt", "dml", "coreml", "webgpu"] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export interface RuntimeOptions {
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** Providers in order of preference (default ["cpu"]); "cpu" is appended when absent. */
  executionProviders?: readonly string[];
  /** One provider (the older option); `executionProviders` wins when both are given. */
  executionProvider?: string;
  memoryArena?: boolean;
  spinWait?: boolean;
}

/** The providers to ask ONNX Runtime for, checked, with "cpu" last. */
export function resolveExecutionProviders(options: Pick<RuntimeOptions, "executionProviders" | "executionProvider">): ExecutionProvider[] {
  const given = options.executionProviders ?? (options.executionProvider !== undefined ? [options.executionProvider] : ["cpu"]);
  if (!Array.isArray(given) || given.length === 0) {
    throw new WinnowError("CONFIG_INVALID", `executionProviders must be a non-empty list of ${EXECUTION_PROVIDERS.join(", ")}`, { details: { field: "executionProviders" } });
  }
  const out: ExecutionProvider[] = [];
  for (const p of given) {
    const name = typeof p === "string" ? p.toLowerCase() : p;
    if (!(EXECUTION_PROVIDERS as readonly unknown[]).includes(name)) {
      throw new WinnowError("CONFIG_INVALID", `executionProviders: unknown provider ${JSON.stringify(p)} (known: ${EXECUTION_PROVIDERS.join(", ")})`, { details: { field: "executionProviders" } });
    }
    if (!out.includes(name as ExecutionProvider)) out.push(name as ExecutionProvider);
  }
  if (!out.includes("cpu")) out.push("cpu");
  return out;
}

/** Whether the first (preferred) provider is an accelerator rather than the CPU. */
export function prefersAccelerator(providers: readonly ExecutionProvider[]): boolean {
  return providers[0] !== "cpu";
}

/**
 * The dtype to load when none is asked for: the catalogue's default on the CPU (int8 where
 * published), fp16 where an accelerator comes first and an fp16 graph is published, else
 * fp32 (ONNX Runtime's dynamic-int8 kernels are CPU kernels: on a GPU they would run on the
 * CPU between device copies).
 */
export function defaultDtypeFor(providers: readonly ExecutionProvider[], catalogueDefault: Dtype | undefined, hasFp16: boolean): Dtype {
  if (!prefersAccelerator(providers)) return catalogueDefault ?? "fp32";
  return hasFp16 ? "fp16" : "fp32";
}

/** The session options every Winnow ONNX session uses (see PairSessionOptions for why each). */
export function ortSessionOptions(options: RuntimeOptions, threads: number, extra: Record<string, string> = {}): OrtSession.SessionOptions {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new WinnowError("CONFIG_INVALID", `threads must be a positive integer, got ${String(options.threads)}`, { details: { field: "threads" } });
  }
  const arena = options.memoryArena ?? true;
  return {
    executionProviders: resolveExecutionProviders(options),
    graphOptimizationLevel: "all",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    enableCpuMemArena: arena,
    enableMemPattern: arena,
    extra: { session: { intra_op: { allow_spinning: options.spinWait === false ? "0" : "1" }, ...extra } },
  };
}

/** float16 bits → float32 (ONNX Runtime hands fp16 outputs over as Uint16Array). */
export function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** A float output's values as float32, whichever float type the graph returns. */
export function floatOutput(data: unknown, type: string): Float32Array {
  if (type === "float16") return data instanceof Uint16Array ? halfToFloat(data) : Float32Array.from(data as ArrayLike<number>);
  return data as Float32Array;
}
