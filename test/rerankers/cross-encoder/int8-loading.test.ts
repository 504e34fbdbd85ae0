/**
 * Which int8 graph `dtype: "int8"` runs, per CPU. The real probe decides for this host;
 * injected probe results (test/onnx/int8-probes.ts) run the other CPUs' branches here, so
 * the logic for VNNI hosts is tested on AVX2 hosts and the other way round.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";
import { probeInt8Kernels, type Int8KernelProbe } from "../../../src/onnx/int8-kernel-probe.js";
import { inspectInt8Weights } from "../../../src/onnx/int8-weights.js";
import { quantizeFile } from "../../../src/onnx/quantize.js";
import { catalogueEntry } from "../../../src/rerankers/cross-encoder/catalogue.js";
import { CrossEncoderReranker, type CrossEncoderOptions } from "../../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { int8Candidates, planInt8 } from "../../../src/rerankers/cross-encoder/int8-model.js";
import { createReranker } from "../../../src/rerankers/registry.js";
import { AVX2_PROBE, NO_INT8_PROBE, NO_PRECISION_MODE_PROBE, VNNI_PROBE } from "../../onnx/int8-probes.js";
import { startFakeHub } from "../../models/hub-server.js";

const QUERY = "vitamin d and cancer risk";
const DOCS = [
  "Vitamin D deficiency is associated with a higher risk of several cancers.",
  "The committee approved the new budget for road maintenance.",
  "Statins lower LDL cholesterol and reduce cardiovascular events.",
  "Tumour growth was suppressed by calcitriol in mouse models.",
  "A recipe for sourdough bread with a long cold fermentation.",
];
const BASE_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

let generated: string;
let root: string;
beforeAll(async () => {
  generated = await ensureGeneratedModel("tiny-bert");
  root = mkdtempSync(join(tmpdir(), "winnow-int8-load-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
/** A model folder with the given ONNX files: [name in the folder, scheme to quantize with, or "fp32"]. */
async function folder(name: string, files: Array<[string, "fp32" | "s8" | "u8"]>): Promise<string> {
  const dir = join(root, name);
  mkdirSync(join(dir, "onnx"), { recursive: true });
  for (const f of BASE_FILES) cpSync(join(generated, f), join(dir, f));
  for (const [file, kind] of files) {
    if (kind === "fp32") cpSync(join(generated, "onnx", "model.onnx"), join(dir, file));
    else await quantizeFile(join(generated, "onnx", "model.onnx"), join(dir, file), { weights: kind });
  }
  return dir;
}

async function logitsOf(options: CrossEncoderOptions): Promise<{ logits: number[]; reranker: CrossEncoderReranker; warnings: string[] }> {
  const warnings: string[] = [];
  const reranker = await CrossEncoderReranker.load({ scores: "logit", threads: 1, onWarning: (m) => warnings.push(m), ...options });
  const logits = new Array<number>(DOCS.length);
  for (const r of await reranker.rerank(QUERY, DOCS)) logits[r.index] = r.score;
  return { logits, reranker, warnings };
}

describe("dtype int8: choosing a graph that is exact on this CPU", () => {
  let probe: Int8KernelProbe;
  let s8Only: string;
  let u8Reference: number[];
  let fp32Reference: number[];
  beforeAll(async () => {
    probe = await probeInt8Kernels();
    s8Only = await folder("s8-only", [["onnx/model.onnx", "fp32"], ["onnx/model_quantized.onnx", "s8"]]);
    const u8 = await folder("u8", [["onnx/model_quantized.onnx", "u8"]]);
    const ref = await logitsOf({ model: u8, dtype: "int8" });
    u8Reference = ref.logits;
    expect(ref.reranker.model!.int8).toMatchObject({ weights: "u8", how: "as-published", exact: true });
    await ref.reranker.close();
    const fp = await logitsOf({ model: s8Only, dtype: "fp32" });
    fp32Reference = fp.logits;
    expect(fp.reranker.model!.int8).toBeUndefined();
    await fp.reranker.close();
  });

  it("an s8-only folder on this CPU: loaded as published where s8 is exact, else through ONNX Runtime's s8→u8 conversion; the scores equal the u8 graph's either way", async () => {
    const { logits, reranker, warnings } = await logitsOf({ model: s8Only, dtype: "int8" });
    try {
      expect(reranker.model!.int8).toMatchObject({ file: "onnx/model_quantized.onnx", weights: "s8", exact: true, how: probe.s8.exact ? "as-published" : "precision-mode", kernel: probe.kernel });
      expect(reranker.model!.dtype).toBe("int8");
      expect(logits).toEqual(u8Reference);
      expect(warnings).toEqual([]);
      expect(reranker.batchScorer.id).toMatch(/\/int8\/512$/);
    } finally {
      await reranker.close();
    }
  });

  it("a CPU where s8 saturates (injected): ONNX Runtime's conversion, exact on any CPU, same scores as u8", async () => {
    const { logits, reranker } = await logitsOf({ model: s8Only, dtype: "int8", int8Probe: AVX2_PROBE });
    try {
      expect(reranker.model!.int8).toMatchObject({ how: "precision-mode", exact: true, reason: expect.stringContaining("session.x64quantprecision") });
      expect(logits).toEqual(u8Reference);
    } finally {
      await reranker.close();
    }
  });

  it("a VNNI CPU (injected): the s8 graph is loaded as published, without the conversion", async () => {
    const { reranker } = await logitsOf({ model: s8Only, dtype: "int8", int8Probe: VNNI_PROBE });
    try {
      expect(reranker.model!.int8).toMatchObject({ how: "as-published", exact: true, weights: "s8", reason: expect.stringContaining("exact on this CPU (VNNI") });
    } finally {
      await reranker.close();
    }
  });

  it("when the conversion cannot help: the fp32 graph is quantized here with u8 weights, cached (atomic, reused), and scores like the u8 graph", async () => {
    const cache = join(root, "int8-cache");
    const first = await logitsOf({ model: s8Only, dtype: "int8", int8Probe: NO_PRECISION_MODE_PROBE, int8CacheDir: cache });
    try {
      const state = first.reranker.model!.int8!;
      expect(state).toMatchObject({ how: "requantized", exact: true, weights: "s8", file: "onnx/model_quantized.onnx", reason: expect.stringContaining("cached at") });
      expect(state.runs.startsWith(cache)).toBe(true);
      expect((await inspectInt8Weights(state.runs)).weights).toBe("u8");
      expect(first.logits).toEqual(u8Reference);
      expect(first.warnings).toEqual([]);
      // Not the published graph: the scores get their own id.
      expect(first.reranker.batchScorer.id).toMatch(/\/int8\+requantized-u8\/512$/);
      expect(readdirSync(cache).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    } finally {
      await first.reranker.close();
    }
    const again = await logitsOf({ model: s8Only, dtype: "int8", int8Probe: NO_PRECISION_MODE_PROBE, int8CacheDir: cache });
    try {
      expect(again.reranker.model!.int8!.reason).toContain("from the cache");
      expect(readdirSync(cache)).toHaveLength(1);
    } finally {
      await again.reranker.close();
    }
  });

  it('unsafeInt8 "fp32" (or no exact int8 scheme on the CPU): fp32 with one one-line warning; "keep": the file with a warning, marked inexact', async () => {
    for (const options of [{ unsafeInt8: "fp32" as const, int8Probe: NO_PRECISION_MODE_PROBE }, { int8Probe: NO_INT8_PROBE }]) {
      const { logits, reranker, warnings } = await logitsOf({ model: s8Only, dtype: "int8", ...options });
      try {
        expect(reranker.model!.dtype).toBe("fp32");
        expect(reranker.model!.int8).toMatchObject({ how: "fp32-fallback", file: "onnx/model_quantized.onnx" });
        expect(logits).toEqual(fp32Reference);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).not.toContain("\n");
        expect(warnings[0]).toMatch(/holds s8 weights, which ONNX Runtime's kernels on this CPU do not multiply exactly .*using the fp32 graph onnx\/model.onnx instead/);
        expect(reranker.batchScorer.id).toMatch(/\/fp32\/512$/);
      } finally {
        await reranker.close();
      }
    }
    const kept = await logitsOf({ model: s8Only, dtype: "int8", unsafeInt8: "keep", int8Probe: NO_PRECISION_MODE_PROBE });
    try {
      expect(kept.reranker.model!.int8).toMatchObject({ how: "kept-unsafe", exact: false });
      expect(kept.warnings).toHaveLength(1);
      expect(kept.warnings[0]).toContain("int8 scores will be off");
      expect(kept.reranker.batchScorer.id).toMatch(/\/int8\+inexact\/512$/);
    } finally {
      await kept.reranker.close();
    }
  });

  it("an s8-only folder without the fp32 graph, where s8 is unsafe and cannot be converted: a clear error, nothing loaded", async () => {
    const noFp32 = await folder("s8-no-fp32", [["onnx/model_quantized.onnx", "s8"]]);
    const err = await CrossEncoderReranker.load({ model: noFp32, dtype: "int8", int8Probe: NO_PRECISION_MODE_PROBE, int8CacheDir: join(root, "cache-2") }).catch((e) => e);
    expect(err).toMatchObject({ code: "MODEL_LOAD_FAILED", details: { field: "dtype", file: "onnx/model_quantized.onnx", fp32File: "onnx/model.onnx" } });
    expect(err.message).toMatch(/fp32 graph onnx\/model.onnx to requantize or fall back to is not available.*unsafeInt8: "keep"/);
    expect(existsSync(join(root, "cache-2"))).toBe(false);
    // Where s8 is exact (or convertible) the same folder loads.
    const r = await CrossEncoderReranker.load({ model: noFp32, dtype: "int8", int8Probe: VNNI_PROBE, threads: 1 });
    expect(r.model!.int8!.how).toBe("as-published");
    await r.close();
  });

  it("the spec (config file, -O flags) takes unsafeInt8 and refuses a value it does not know, naming the field", async () => {
    const r = await createReranker({ type: "cross-encoder", model: s8Only, dtype: "int8", unsafeInt8: "fp32", threads: 1 });
    await (r as CrossEncoderReranker).close();
    await expect(createReranker({ type: "cross-encoder", model: s8Only, dtype: "int8", unsafeInt8: "maybe" })).rejects.toMatchObject({ code: "CONFIG_INVALID", details: { field: "unsafeInt8" } });
  });
});

describe("planInt8 and the catalogue's int8 files", () => {
  const info = { weights: "s8" as const, integerOps: 3, s8Ops: 3, u8Ops: 0, nonConstantS8: 0, sharedS8: 0, perChannel: false };
  it("converts s8 at load only when every s8 weight is a constant ONNX Runtime can convert", () => {
    expect(planInt8("f.onnx", info, AVX2_PROBE).action).toBe("precision-mode");
    expect(planInt8("f.onnx", info, VNNI_PROBE).action).toBe("load");
    expect(planInt8("f.onnx", { ...info, sharedS8: 1 }, AVX2_PROBE)).toMatchObject({ action: "unsafe", reason: expect.stringContaining("shared between ops") });
    expect(planInt8("f.onnx", { ...info, nonConstantS8: 2 }, AVX2_PROBE)).toMatchObject({ action: "unsafe", reason: expect.stringContaining("computed in the graph") });
    expect(planInt8("f.onnx", { ...info, weights: "u8", s8Ops: 0, u8Ops: 3 }, AVX2_PROBE).action).toBe("load");
    expect(planInt8("f.onnx", { ...info, weights: "none", s8Ops: 0, integerOps: 0 }, NO_INT8_PROBE).action).toBe("load");
  });

  it("prefers s8 files where s8 is exact (VNNI: the fastest kernels) and u8 files elsewhere", () => {
    const minilm = catalogueEntry("cross-encoder/ms-marco-MiniLM-L-6-v2")!;
    expect(int8Candidates(minilm, VNNI_PROBE, "onnx/model_quantized.onnx")).toEqual(["onnx/model_qint8_avx512_vnni.onnx", "onnx/model_quint8_avx2.onnx"]);
    expect(int8Candidates(minilm, AVX2_PROBE, "onnx/model_quantized.onnx")).toEqual(["onnx/model_quint8_avx2.onnx", "onnx/model_qint8_avx512_vnni.onnx"]);
    expect(int8Candidates(catalogueEntry("jinaai/jina-reranker-v1-tiny-en"), AVX2_PROBE, "x")).toEqual(["onnx/model_quantized.onnx"]);
    expect(int8Candidates(undefined, AVX2_PROBE, "onnx/model_quantized.onnx")).toEqual(["onnx/model_quantized.onnx"]);
  });

  it("from the hub: tries the best file for the CPU first, moves on when the repo lacks it, and offline uses whichever is cached", async () => {
    const repo = "cross-encoder/ms-marco-MiniLM-L-6-v2";
    const published = await folder("hub-minilm", [["onnx/model.onnx", "fp32"], ["onnx/model_quint8_avx2.onnx", "u8"]]);
    const hub = await startFakeHub(repo, published);
    const cacheDir = join(root, "hub-cache");
    const env = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_HUB_OFFLINE: process.env.HF_HUB_OFFLINE };
    process.env.HF_ENDPOINT = hub.endpoint;
    delete process.env.HF_HUB_OFFLINE;
    try {
      const vnni = await CrossEncoderReranker.load({ model: repo, dtype: "int8", cacheDir, int8Probe: VNNI_PROBE, threads: 1 });
      expect(vnni.model!.int8).toMatchObject({ file: "onnx/model_quint8_avx2.onnx", weights: "u8", how: "as-published" });
      expect(hub.requests.some((r) => r.url.includes("model_qint8_avx512_vnni.onnx"))).toBe(true); // tried first, 404
      await vnni.close();
      hub.requests.length = 0;
      const avx2 = await CrossEncoderReranker.load({ model: repo, dtype: "int8", cacheDir, int8Probe: AVX2_PROBE, threads: 1 });
      expect(avx2.model!.int8!.file).toBe("onnx/model_quint8_avx2.onnx");
      expect(hub.requests.some((r) => r.url.includes("avx512_vnni"))).toBe(false);
      await avx2.close();
      hub.requests.length = 0;
      const offline = await CrossEncoderReranker.load({ model: repo, dtype: "int8", cacheDir, offline: true, int8Probe: VNNI_PROBE, threads: 1 });
      expect(offline.model!.int8!.file).toBe("onnx/model_quint8_avx2.onnx");
      expect(hub.requests).toHaveLength(0);
      await offline.close();
      // Neither file cached for another repo, offline: the error names both files it tried.
      const err = await CrossEncoderReranker.load({ model: "cross-encoder/ms-marco-MiniLM-L-12-v2", dtype: "int8", cacheDir, offline: true, int8Probe: VNNI_PROBE }).catch((e) => e);
      expect(err).toMatchObject({ code: "MODEL_NOT_FOUND", details: { tried: ["onnx/model_qint8_avx512_vnni.onnx", "onnx/model_quint8_avx2.onnx"] } });
      expect(hub.requests).toHaveLength(0);
    } finally {
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await hub.close();
    }
  });
});
