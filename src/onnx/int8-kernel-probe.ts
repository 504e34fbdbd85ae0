/**
 * Whether ONNX Runtime's int8 kernels on this CPU compute what an int8 graph says,
 * found out by running one: a tiny graph whose u8×s8 products overflow the 16-bit pair
 * sums that x86 CPUs without VNNI use (`vpmaddubsw` adds two u8×s8 products with int16
 * saturation: 2 × 255 × 127 = 64,770 > 32,767), compared with the exact integer result.
 * With VNNI (`vpdpbusd`), AMX or ARM dot products the sums are 32-bit and exact.
 *
 * What counts is what ONNX Runtime does, not /proc/cpuinfo: under emulation (qemu) and in
 * some VMs the flags and the kernels ONNX Runtime picks (from CPUID) differ, so the flags
 * are only shown beside the result. The probe runs once per process (a few ms natively).
 */
import { readFileSync } from "node:fs";
import { WinnowError } from "../core/errors.js";
import { DataType, GraphBuilder, attrInt, encodeModel, floatTensor, int8Tensor, tensorValueInfo, uint8Tensor, type ModelProto } from "./onnx-graph.js";

/** How int8 MatMul weights are stored. */
export type Int8WeightScheme = "s8" | "u8" | "s8-reduce-range";
export const INT8_WEIGHT_SCHEMES: readonly Int8WeightScheme[] = ["s8", "u8", "s8-reduce-range"];

export interface Int8PathResult {
  /** ONNX Runtime's result equals the exact integer product (every output of this path). */
  exact: boolean;
  /** Largest |ORT − exact| / max |exact| over the path's outputs (0 when exact). */
  maxRelError: number;
}

export interface Int8KernelProbe {
  /** u8 activations × s8 weights (ORT's default QInt8 weights; what VNNI runs fast). */
  s8: Int8PathResult;
  /** The same s8 graph with `session.x64quantprecision = 1` (ORT converts s8 weights to u8 at load). */
  s8PrecisionMode: Int8PathResult;
  /** u8 activations × u8 weights (value + 128, zero point 128). */
  u8: Int8PathResult;
  /** s8 weights limited to [-64, 64] (reduce_range): pair sums cannot overflow int16. */
  s8ReduceRange: Int8PathResult;
  /** The scheme `auto` picks here: s8 where it is exact (fastest with VNNI), else u8. */
  recommended: "s8" | "u8";
  /** Whether any full-precision int8 scheme is exact here (false: int8 should not be used). */
  int8Exact: boolean;
  /** Which kernel family the results point to, in words (VNNI u8×s8, AVX2 u8×u8, …). */
  kernel: string;
  /** One line: why `recommended`. */
  reason: string;
  /** int8-relevant CPU flags from /proc/cpuinfo (shown beside the result; may disagree under emulation). */
  cpuFlags: string[];
  arch: string;
  onnxRuntime: string;
}

/** Flags that decide which int8 kernels a CPU has (x86: VNNI/AMX; ARM: dot product, i8mm). */
export const INT8_CPU_FLAGS = ["avx2", "avx512bw", "avx512_vnni", "avx_vnni", "avx_vnni_int8", "amx_int8", "asimddp", "i8mm", "sve"] as const;

/** The int8-relevant flags of the first CPU in /proc/cpuinfo (empty where it cannot be read). */
export function int8CpuFlags(cpuinfo?: string): string[] {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync("/proc/cpuinfo", "utf8");
    } catch {
      return []; // not Linux: the probe's result is what matters anyway
    }
  }
  const line = text.split("\n").find((l) => /^(flags|Features)\s*:/.test(l));
  if (!line) return [];
  const present = new Set(line.slice(line.indexOf(":") + 1).trim().split(/\s+/));
  return INT8_CPU_FLAGS.filter((f) => present.has(f));
}

const M = 8; // rows: enough for the GEMM kernels (a single row takes the GEMV path)
const K = 64;
const N = 16;

/** Deterministic probe data: large activations and same-signed neighbouring weights, so u8×s8 pair sums overflow int16. */
export function int8ProbeData(): { a: Uint8Array; w: Int8Array; w7: Int8Array; M: number; K: number; N: number } {
  let s = 0x9e3779b9;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const a = new Uint8Array(M * K);
  for (let i = 0; i < a.length; i++) a[i] = i % K === 0 ? 0 : 200 + Math.floor(rand() * 56); // 0 and up to 255: DynamicQuantizeLinear then has scale 1, zero point 0
  a[1] = 255;
  const w = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const sign = (Math.floor(k / 2) + n) % 3 === 0 ? -1 : 1; // pairs (2j, 2j+1) share a sign
      w[k * N + n] = sign * (100 + Math.floor(rand() * 28));
    }
  }
  const w7 = Int8Array.from(w, (v) => Math.max(-64, Math.min(64, v)));
  return { a, w, w7, M, K, N };
}

function exactProduct(a: Uint8Array, w: Int8Array): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum += a[m * K + k] * w[k * N + n];
    out[m * N + n] = sum;
  }
  return out;
}

/**
 * The probe graph. Integer outputs: MatMulInteger on a uint8 input; float outputs: the
 * chain Winnow's quantizer writes (DynamicQuantizeLinear → MatMulInteger → Cast → Mul),
 * which ORT fuses into DynamicQuantizeMatMul, the kernel real models run.
 */
export function int8ProbeModel(): ModelProto {
  const { w, w7 } = int8ProbeData();
  const g = new GraphBuilder(["a", "x"]);
  // Each node gets its own copy of a weight and zero point: ORT's s8→u8 rewrite
  // (session.x64quantprecision) fails on an int8 initializer shared by two nodes.
  const s8 = (name: string, data: Int8Array) => g.addInitializer(int8Tensor(name, [K, N], data));
  const u8 = (name: string) => g.addInitializer(uint8Tensor(name, [K, N], Uint8Array.from(w, (v) => v + 128)));
  const zpS8 = (name: string) => g.addInitializer(int8Tensor(name, [], new Int8Array(1)));
  const zpU8 = (name: string) => g.addInitializer(uint8Tensor(name, [], Uint8Array.of(128)));
  const one = g.addInitializer(floatTensor("w_scale", [], Float32Array.of(1)));
  g.node("MatMulInteger", ["a", s8("w_s8", w), "", zpS8("zp_s8")], ["int_s8"]);
  g.node("MatMulInteger", ["a", u8("w_u8"), "", zpU8("zp_u8")], ["int_u8"]);
  g.node("MatMulInteger", ["a", s8("w_s8_7bit", w7), "", zpS8("zp_s8_7bit")], ["int_s8_7bit"]);
  const fused = (weight: string, zp: string, out: string) => {
    const [xq, xs, xzp] = g.node("DynamicQuantizeLinear", ["x"], 3);
    const integer = g.op("MatMulInteger", [xq, weight, xzp, zp]);
    const asFloat = g.op("Cast", [integer], [attrInt("to", DataType.FLOAT)]);
    const scale = g.op("Mul", [xs, one]);
    g.node("Mul", [asFloat, scale], [out]);
  };
  fused(s8("w_s8_fused", w), zpS8("zp_s8_fused"), "fused_s8");
  fused(u8("w_u8_fused"), zpU8("zp_u8_fused"), "fused_u8");
  fused(s8("w_s8_7bit_fused", w7), zpS8("zp_s8_7bit_fused"), "fused_s8_7bit");
  const outputs = [
    ...["int_s8", "int_u8", "int_s8_7bit"].map((n) => tensorValueInfo(n, DataType.INT32, [M, N])),
    ...["fused_s8", "fused_u8", "fused_s8_7bit"].map((n) => tensorValueInfo(n, DataType.FLOAT, [M, N])),
  ];
  return {
    irVersion: 8,
    producerName: "winnow-int8-probe",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "int8_probe",
      node: g.nodes,
      initializer: g.initializers,
      input: [tensorValueInfo("a", DataType.UINT8, [M, K]), tensorValueInfo("x", DataType.FLOAT, [M, K])],
      output: outputs,
    },
  };
}

function compare(got: ArrayLike<number>[], exact: Float64Array): Int8PathResult {
  let scale = 0;
  for (const v of exact) scale = Math.max(scale, Math.abs(v));
  let err = 0;
  for (const g of got) for (let i = 0; i < exact.length; i++) err = Math.max(err, Math.abs(Number(g[i]) - exact[i]));
  // Sums stay below 2^24, so the float path is exact too when the kernel is.
  return { exact: err === 0, maxRelError: err / scale };
}

function kernelLabel(p: Pick<Int8KernelProbe, "s8" | "u8" | "s8ReduceRange" | "cpuFlags" | "arch">): string {
  const f = new Set(p.cpuFlags);
  if (p.s8.exact) {
    if (p.arch === "arm64") return `ARM int8 (${f.has("i8mm") ? "i8mm" : f.has("asimddp") ? "dot product" : "NEON"}), exact u8×s8`;
    if (f.has("amx_int8")) return "AMX / VNNI u8×s8 (32-bit sums)";
    if (f.has("avx512_vnni") || f.has("avx_vnni")) return "VNNI u8×s8 (32-bit sums)";
    return "exact u8×s8 (32-bit sums; /proc/cpuinfo shows no VNNI: emulated or masked flags?)";
  }
  if (p.u8.exact) return p.arch === "x64" ? "AVX2 u8×u8 (u8×s8 saturates: no VNNI)" : "u8×u8 (u8×s8 saturates)";
  if (p.s8ReduceRange.exact) return "reduce-range only (full-range u8×s8 and u8×u8 are not exact)";
  return "no exact int8 kernel";
}

type Ort = typeof import("onnxruntime-node");

async function runProbe(ort: Ort): Promise<Int8KernelProbe> {
  const { a, w, w7 } = int8ProbeData();
  const bytes = encodeModel(int8ProbeModel());
  const feeds = {
    a: new ort.Tensor("uint8", a, [M, K]),
    x: new ort.Tensor("float32", Float32Array.from(a), [M, K]),
  };
  const base = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all" as const };
  const run = async (extra?: Record<string, unknown>) => {
    const session = await ort.InferenceSession.create(bytes, { ...base, ...(extra ? { extra } : {}) });
    try {
      const out = await session.run(feeds);
      return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number>)]));
    } finally {
      await session.release();
    }
  };
  const plain = await run();
  // Config entry kOrtSessionOptionsAvx2PrecisionMode; the binding flattens `extra` into "session.x64quantprecision".
  const precise = await run({ session: { x64quantprecision: "1" } });
  const exact = exactProduct(a, w);
  const exact7 = exactProduct(a, w7);
  const s8 = compare([plain.int_s8, plain.fused_s8], exact);
  const u8 = compare([plain.int_u8, plain.fused_u8], exact);
  const s8ReduceRange = compare([plain.int_s8_7bit, plain.fused_s8_7bit], exact7);
  const s8PrecisionMode = compare([precise.int_s8, precise.fused_s8], exact);
  const cpuFlags = int8CpuFlags();
  const recommended = s8.exact ? "s8" : "u8";
  const partial = { s8, u8, s8ReduceRange, cpuFlags, arch: process.arch };
  const pct = (r: Int8PathResult) => `${(100 * r.maxRelError).toFixed(1)}%`;
  const reason = s8.exact
    ? "u8×s8 products are exact here, and s8 weights run the fastest int8 kernels"
    : u8.exact
      ? `u8×s8 products saturate in ONNX Runtime's kernels here (max error ${pct(s8)} of the exact product); u8 weights are exact`
      : `neither u8×s8 (error ${pct(s8)}) nor u8×u8 (error ${pct(u8)}) is exact here`;
  return {
    s8,
    s8PrecisionMode,
    u8,
    s8ReduceRange,
    recommended,
    int8Exact: s8.exact || u8.exact,
    kernel: kernelLabel(partial),
    reason,
    cpuFlags,
    arch: process.arch,
    onnxRuntime: ort.env.versions?.common ?? "unknown",
  };
}

let cached: Promise<Int8KernelProbe> | undefined;

/** The probe's result for this process (run once, then cached). */
export function probeInt8Kernels(): Promise<Int8KernelProbe> {
  cached ??= import("onnxruntime-node")
    .then((ort) => runProbe(ort))
    .catch((err) => {
      cached = undefined;
      throw new WinnowError("INTERNAL", `int8 kernel probe failed: ONNX Runtime could not run a MatMulInteger graph (${(err as Error).message})`, { cause: err });
    });
  return cached;
}

/** Whether int8 weights stored as `scheme` compute exactly with this probe result. */
export function schemeIsExact(probe: Int8KernelProbe, scheme: Int8WeightScheme): boolean {
  return scheme === "s8" ? probe.s8.exact : scheme === "u8" ? probe.u8.exact : probe.s8ReduceRange.exact;
}

/** One line for CLI output: the kernel family, which schemes are exact, the flags. */
export function formatInt8Probe(probe: Int8KernelProbe): string {
  const mark = (r: Int8PathResult) => (r.exact ? "exact" : `saturates (max error ${(100 * r.maxRelError).toFixed(1)}%)`);
  const flags = probe.cpuFlags.filter((f) => f !== "avx2" && f !== "avx512bw" && f !== "sve");
  return (
    `int8 kernels: ${probe.kernel}; s8 weights: ${mark(probe.s8)}; u8 weights: ${mark(probe.u8)}; ` +
    `s8 with session.x64quantprecision: ${mark(probe.s8PrecisionMode)} → auto scheme ${probe.recommended}` +
    ` (ONNX Runtime ${probe.onnxRuntime}, ${probe.arch}; cpu flags: ${flags.length > 0 ? flags.join(" ") : `none of ${INT8_CPU_FLAGS.filter((f) => f !== "avx2" && f !== "avx512bw" && f !== "sve").join(", ")}`})`
  );
}
