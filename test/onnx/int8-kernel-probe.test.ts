import { describe, expect, it } from "vitest";
import { formatInt8Probe, int8CpuFlags, int8ProbeData, int8ProbeModel, probeInt8Kernels, schemeIsExact } from "../../src/onnx/int8-kernel-probe.js";
import { initializerMap, tensorValues } from "../../src/onnx/onnx-graph.js";
import { AVX2_PROBE, VNNI_PROBE } from "./int8-probes.js";

describe("int8 kernel probe", () => {
  it("feeds inputs whose u8×s8 pair sums overflow int16, so a saturating kernel cannot pass it", () => {
    // What x86 without VNNI computes (vpmaddubsw: two u8×s8 products added with int16
    // saturation, then widened and summed) against the exact sum, on the probe's own data.
    const { a, w, w7, M, K, N } = int8ProbeData();
    let differs = 0;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let exact = 0;
        let saturated = 0;
        for (let k = 0; k < K; k += 2) {
          const pair = a[m * K + k] * w[k * N + n] + a[m * K + k + 1] * w[(k + 1) * N + n];
          exact += pair;
          saturated += Math.max(-32768, Math.min(32767, pair));
        }
        if (saturated !== exact) differs++;
      }
    }
    expect(differs).toBeGreaterThan((M * N) / 2);
    // The 7-bit copy cannot overflow (2 × 255 × 64 < 32768); the float input quantizes to the same bytes (scale 1).
    expect(w7.reduce((mx, v) => Math.max(mx, Math.abs(v)), 0)).toBeLessThanOrEqual(64);
    expect(Math.min(...a)).toBe(0);
    expect(Math.max(...a)).toBe(255);
    // The graph reads those weights.
    const inits = initializerMap(int8ProbeModel().graph!);
    expect(Array.from(tensorValues(inits.get("w_s8")!))).toEqual(Array.from(w));
  });

  it("runs once per process and reports what ONNX Runtime does on this CPU", async () => {
    const probe = await probeInt8Kernels();
    expect(await probeInt8Kernels()).toBe(probe);
    // u8×u8, 7-bit s8 and ORT's load-time s8→u8 conversion are exact on every CPU ORT's CPU provider supports.
    expect(probe.u8).toEqual({ exact: true, maxRelError: 0 });
    expect(probe.s8ReduceRange.exact).toBe(true);
    expect(probe.s8PrecisionMode.exact).toBe(true);
    expect(probe.int8Exact).toBe(true);
    expect(probe.recommended).toBe(probe.s8.exact ? "s8" : "u8");
    expect(probe.s8.exact).toBe(probe.s8.maxRelError === 0);
    expect(schemeIsExact(probe, probe.recommended)).toBe(true);
    expect(probe.arch).toBe(process.arch);
    // Natively (not under emulation, which test/onnx/int8-emulated.test.ts covers), ORT picks
    // its kernels from the same CPUID bits /proc/cpuinfo shows: on x86, u8×s8 is exact exactly
    // when the CPU has VNNI or AMX.
    if (process.arch === "x64" && probe.cpuFlags.length > 0) {
      const vnni = ["avx512_vnni", "avx_vnni", "amx_int8"].some((f) => probe.cpuFlags.includes(f));
      expect(probe.s8.exact).toBe(vnni);
      expect(probe.kernel).toMatch(vnni ? /VNNI|AMX/ : /AVX2 u8×u8/);
    }
  });

  it("reads the int8 flags of x86 and ARM /proc/cpuinfo", () => {
    const x86 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni amx_tile amx_int8\nbugs\t: x\n";
    expect(int8CpuFlags(x86)).toEqual(["avx2", "avx512bw", "avx512_vnni", "amx_int8"]);
    const arm = "processor\t: 0\nFeatures\t: fp asimd asimddp sve i8mm\n";
    expect(int8CpuFlags(arm)).toEqual(["asimddp", "i8mm", "sve"]);
    expect(int8CpuFlags("model name: something")).toEqual([]);
  });

  it("prints the kernel family, each scheme's verdict, the auto choice and the flags", () => {
    const avx2 = formatInt8Probe(AVX2_PROBE);
    expect(avx2).toContain("AVX2 u8×u8");
    expect(avx2).toContain("s8 weights: saturates (max error 40.0%)");
    expect(avx2).toContain("u8 weights: exact");
    expect(avx2).toContain("→ auto scheme u8");
    expect(avx2).toMatch(/cpu flags: none of avx512_vnni/);
    expect(formatInt8Probe(VNNI_PROBE)).toMatch(/VNNI u8×s8.*→ auto scheme s8.*cpu flags: avx512_vnni/);
  });
});
