import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { register } from "../../src/cli/commands/models.js";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { probeInt8Kernels } from "../../src/onnx/int8-kernel-probe.js";
import { quantizeFile } from "../../src/onnx/quantize.js";
import { startFakeHub, type FakeHub } from "./hub-server.js";
import { runCommandStdout } from "../support/run-command.js";

/** Runs `winnow models …` and returns what it wrote to stdout. */
const models = (...args: string[]) => runCommandStdout(register, ["models", ...args]);

describe("winnow models", () => {
  let hub: FakeHub;
  let cache: string;
  const REPO = "winnow-test/pull-me";
  beforeAll(async () => {
    hub = await startFakeHub(REPO, await ensureGeneratedModel("tiny-bert"));
  });
  afterAll(() => hub.close());
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), "winnow-models-"));
    hub.requests.length = 0;
    vi.stubEnv("HF_ENDPOINT", hub.endpoint);
    vi.stubEnv("HF_HUB_CACHE", join(cache, "hf"));
    vi.stubEnv("WINNOW_CACHE", join(cache, "winnow"));
    vi.stubEnv("HF_HUB_OFFLINE", "");
    vi.stubEnv("WINNOW_OFFLINE", "");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(cache, { recursive: true, force: true });
  });

  it("shows the int8 kernel probe and the CPU flags beside the catalogue", async () => {
    const probe = await probeInt8Kernels();
    const table = await models();
    expect(table).toContain(`int8 kernels: ${probe.kernel}`);
    expect(table).toMatch(/cpu flags: /);
    expect(table).toMatch(new RegExp(`→ auto scheme ${probe.recommended}`));
    expect(table).toContain("onnx/model_qint8_avx512_vnni.onnx(s8),onnx/model_quint8_avx2.onnx(u8)");
    const json = JSON.parse(await models("--format", "json"));
    expect(json.int8).toMatchObject({ recommended: probe.recommended, s8: probe.s8, u8: probe.u8, cpuFlags: probe.cpuFlags });
  });

  it("pull with HF_HUB_OFFLINE=1 or --offline never reaches the hub: cached models are confirmed, missing ones are MODEL_NOT_FOUND", async () => {
    vi.stubEnv("HF_HUB_OFFLINE", "1");
    await expect(models("pull", REPO, "--dtype", "fp32")).rejects.toMatchObject({ code: "MODEL_NOT_FOUND", message: expect.stringContaining("offline mode is on") });
    expect(hub.requests).toHaveLength(0);
    vi.stubEnv("HF_HUB_OFFLINE", "");
    await expect(models("pull", REPO, "--dtype", "fp32", "--offline")).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
    expect(hub.requests).toHaveLength(0);

    expect(await models("pull", REPO, "--dtype", "fp32")).toMatch(new RegExp(`${REPO}@${hub.commit} \\(fp32: onnx/model.onnx\\) cached in `));
    expect(hub.requests.length).toBeGreaterThan(0);
    hub.requests.length = 0;
    vi.stubEnv("HF_HUB_OFFLINE", "1");
    expect(await models("pull", REPO, "--dtype", "fp32")).toContain("already cached");
    vi.stubEnv("HF_HUB_OFFLINE", "");
    expect(await models("pull", REPO, "--dtype", "fp32", "--offline")).toContain("already cached");
    expect(hub.requests).toHaveLength(0);
  });

  it("pull --dtype int8 of a catalogue model fetches every int8 graph the repo has (the machine that runs it may have another CPU)", async () => {
    const repo = "cross-encoder/ms-marco-TinyBERT-L-2-v2";
    const src = await ensureGeneratedModel("tiny-bert");
    const folder = join(cache, "published");
    mkdirSync(join(folder, "onnx"), { recursive: true });
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) cpSync(join(src, f), join(folder, f));
    await quantizeFile(join(src, "onnx", "model.onnx"), join(folder, "onnx", "model_quint8_avx2.onnx"), { weights: "u8" });
    await quantizeFile(join(src, "onnx", "model.onnx"), join(folder, "onnx", "model_qint8_avx512_vnni.onnx"), { weights: "s8" });
    const published = await startFakeHub(repo, folder);
    try {
      vi.stubEnv("HF_ENDPOINT", published.endpoint);
      const out = await models("pull", repo);
      expect(out).toContain("(int8: onnx/model_quint8_avx2.onnx) cached");
      expect(out).toContain("(int8: onnx/model_qint8_avx512_vnni.onnx) cached");
    } finally {
      await published.close();
    }
  });
});
