/**
 * Test support: int8 kernel probe results of other CPUs, so that the decisions made on
 * a VNNI host are tested on an AVX2 host and the other way round. The real probe is
 * tested in int8-kernel-probe.test.ts and, under emulation, in int8-emulated.test.ts.
 */
import type { Int8KernelProbe } from "../../src/onnx/int8-kernel-probe.js";

const exact = { exact: true, maxRelError: 0 };
const saturates = { exact: false, maxRelError: 0.4 };
const common = { s8ReduceRange: exact, int8Exact: true, arch: "x64", onnxRuntime: "test" };

/** An AVX-512 VNNI CPU: u8×s8 is exact, so s8 weights (vpdpbusd) are chosen. */
export const VNNI_PROBE: Int8KernelProbe = {
  ...common,
  s8: exact,
  s8PrecisionMode: exact,
  u8: exact,
  recommended: "s8",
  kernel: "VNNI u8×s8 (32-bit sums)",
  reason: "u8×s8 products are exact here, and s8 weights run the fastest int8 kernels",
  cpuFlags: ["avx2", "avx512bw", "avx512_vnni"],
};

/** An AVX2 CPU without VNNI: u8×s8 saturates; u8 and ORT's load-time s8→u8 conversion are exact. */
export const AVX2_PROBE: Int8KernelProbe = {
  ...common,
  s8: saturates,
  s8PrecisionMode: exact,
  u8: exact,
  recommended: "u8",
  kernel: "AVX2 u8×u8 (u8×s8 saturates: no VNNI)",
  reason: "u8×s8 products saturate in ONNX Runtime's kernels here (max error 40.0% of the exact product); u8 weights are exact",
  cpuFlags: ["avx2"],
};

/** As AVX2_PROBE, but ORT's conversion does not help (a build or CPU where it is compiled out): only requantizing is left. */
export const NO_PRECISION_MODE_PROBE: Int8KernelProbe = { ...AVX2_PROBE, s8PrecisionMode: saturates };

/** A CPU where no int8 scheme is exact: int8 requests fall back to fp32. */
export const NO_INT8_PROBE: Int8KernelProbe = { ...AVX2_PROBE, s8PrecisionMode: saturates, u8: saturates, int8Exact: false, kernel: "no exact int8 kernel" };
