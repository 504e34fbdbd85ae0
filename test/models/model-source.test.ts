import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureGeneratedModel } from "../../src/onnx/generate.js";
import { resolveModelSource } from "../../src/models/model-source.js";
import { downloadCacheDir, huggingFaceHubCache, isOffline, lookupCacheDirs, scanHubCache } from "../../src/models/hub-cache.js";
import { CrossEncoderReranker } from "../../src/rerankers/cross-encoder/cross-encoder-reranker.js";
import { startFakeHub, type FakeHub } from "./hub-server.js";

const REPO = "winnow-test/tiny-bert-reranker";
const FILES = { required: ["config.json", "tokenizer.json", "onnx/model.onnx"], optional: ["tokenizer_config.json", "special_tokens_map.json", "no_such_file.json"] };

describe("hub cache conventions", () => {
  it("follows HF_HUB_CACHE, HF_HOME and WINNOW_CACHE", () => {
    expect(huggingFaceHubCache({ HF_HUB_CACHE: "/a/hub" })).toBe("/a/hub");
    expect(huggingFaceHubCache({ HF_HOME: "/h" })).toBe("/h/hub");
    expect(downloadCacheDir(undefined, { WINNOW_CACHE: "/w", HF_HOME: "/h" })).toBe("/w/hub");
    expect(downloadCacheDir("/explicit", { WINNOW_CACHE: "/w" })).toBe("/explicit");
    expect(lookupCacheDirs(undefined, { WINNOW_CACHE: "/w", HF_HOME: "/h" })).toEqual(["/w/hub", "/h/hub"]);
    expect(isOffline(undefined, { HF_HUB_OFFLINE: "1" })).toBe(true);
    expect(isOffline(undefined, { WINNOW_OFFLINE: "true" })).toBe(true);
    expect(isOffline(undefined, {})).toBe(false);
    expect(isOffline(false, { HF_HUB_OFFLINE: "1" })).toBe(false);
  });
});

describe("resolveModelSource", () => {
  let folder: string;
  let hub: FakeHub;
  let cache: string;
  beforeAll(async () => {
    folder = await ensureGeneratedModel("tiny-bert");
    hub = await startFakeHub(REPO, folder);
  });
  afterAll(async () => {
    await hub.close();
  });
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), "winnow-hub-"));
    hub.requests.length = 0;
    hub.corrupt.clear();
    hub.requiredToken = undefined;
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  const env = () => ({ HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: join(cache, "hf"), WINNOW_CACHE: join(cache, "winnow"), HF_TOKEN: "hf_secret" });

  it("uses a local folder as is, and names a missing file", async () => {
    const r = await resolveModelSource(folder, FILES);
    expect(r).toMatchObject({ dir: folder, origin: "folder", revision: "local" });
    await expect(resolveModelSource(folder, { required: ["config.json", "onnx/model_fp16.onnx"] })).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      details: { missing: ["onnx/model_fp16.onnx"] },
    });
    await expect(resolveModelSource(join(cache, "nope"), FILES)).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
  });

  it("downloads a hub id once into the hub cache layout, then serves it from the cache offline", async () => {
    const got = await resolveModelSource(REPO, FILES, { env: env() });
    expect(got).toMatchObject({ origin: "download", revision: hub.commit, id: REPO });
    const repoDir = join(cache, "winnow", "hub", "models--winnow-test--tiny-bert-reranker");
    expect(got.dir).toBe(join(repoDir, "snapshots", hub.commit));
    expect(readFileSync(join(repoDir, "refs", "main"), "utf8")).toBe(hub.commit);
    // Snapshot entries are links to content-addressed blobs, byte-identical to the source.
    expect(lstatSync(join(got.dir, "onnx/model.onnx")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(got.dir, "onnx/model.onnx")).equals(readFileSync(join(folder, "onnx/model.onnx")))).toBe(true);
    expect(readdirSync(join(repoDir, "blobs")).some((b) => b.includes("incomplete"))).toBe(false);
    expect(existsSync(join(got.dir, "no_such_file.json"))).toBe(false);
    expect(hub.requests.filter((r) => !r.url.startsWith("/cdn")).every((r) => r.authorization === "Bearer hf_secret")).toBe(true);
    // The CDN (another origin) never sees the token.
    expect(hub.requests.filter((r) => r.url.startsWith("/cdn")).every((r) => r.authorization === undefined)).toBe(true);

    hub.requests.length = 0;
    const again = await resolveModelSource(REPO, FILES, { env: { ...env(), HF_HUB_OFFLINE: "1" } });
    expect(again).toMatchObject({ origin: "cache", dir: got.dir, revision: hub.commit });
    expect(hub.requests).toHaveLength(0);
    expect(scanHubCache(join(cache, "winnow", "hub"))).toMatchObject([{ repoId: REPO, refs: { main: hub.commit }, snapshots: [{ commit: hub.commit }] }]);

    // And the reranker runs from it.
    const r = await CrossEncoderReranker.load({ model: REPO, offline: true, cacheDir: join(cache, "winnow", "hub"), dtype: "fp32" });
    expect(r.batchScorer.id).toBe(`${REPO}@${hub.commit}/fp32/512`);
    expect(await r.rerank("q", ["a", "b"])).toHaveLength(2);
    await r.close();
  });

  it("offline with the model missing: MODEL_NOT_FOUND saying where it looked and how to fetch it", async () => {
    const err = await resolveModelSource(REPO, FILES, { env: { ...env(), HF_HUB_OFFLINE: "1" } }).catch((e) => e);
    expect(err).toMatchObject({ code: "MODEL_NOT_FOUND" });
    expect(err.message).toContain(join(cache, "winnow", "hub"));
    expect(err.message).toContain(join(cache, "hf"));
    expect(err.message).toContain(`winnow models pull ${REPO}`);
    expect(hub.requests).toHaveLength(0);
  });

  it("a required file the repo lacks (404) is MODEL_NOT_FOUND naming it", async () => {
    await expect(resolveModelSource(REPO, { required: ["config.json", "onnx/model_fp16.onnx"] }, { env: env() })).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      details: { file: "onnx/model_fp16.onnx" },
    });
    await expect(resolveModelSource("winnow-test/missing-repo", FILES, { env: env() })).rejects.toMatchObject({ code: "MODEL_NOT_FOUND" });
  });

  it("rejects a transfer that does not match its ETag and leaves no blob behind", async () => {
    hub.corrupt.add("onnx/model.onnx");
    await expect(resolveModelSource(REPO, FILES, { env: env() })).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });
    const blobs = join(cache, "winnow", "hub", "models--winnow-test--tiny-bert-reranker", "blobs");
    const sha256 = /^[0-9a-f]{64}$/;
    expect(readdirSync(blobs).filter((b) => sha256.test(b) || b.includes("incomplete"))).toEqual([]);
  });

  it("a gated repo without the right HF_TOKEN is MODEL_NOT_FOUND pointing at HF_TOKEN", async () => {
    hub.requiredToken = "hf_other";
    const err = await resolveModelSource(REPO, FILES, { env: env() }).catch((e) => e);
    expect(err).toMatchObject({ code: "MODEL_NOT_FOUND", details: { status: 401 } });
    expect(err.message).toContain("HF_TOKEN");
    const ok = await resolveModelSource(REPO, FILES, { env: { ...env(), HF_TOKEN: "hf_other" } });
    expect(ok.origin).toBe("download");
  });

  it("an unreachable endpoint is UPSTREAM_ERROR, not a crash", async () => {
    await expect(resolveModelSource(REPO, FILES, { env: { ...env(), HF_ENDPOINT: "http://127.0.0.1:9" } })).rejects.toMatchObject({ code: "UPSTREAM_ERROR" });
  });
});
