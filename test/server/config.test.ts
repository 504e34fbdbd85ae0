import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ApiKeySet } from "../../src/server/api-keys.js";
import { collectApiKeys, readApiKeyFile } from "../../src/server/api-keys.js";
import { loadServerConfigFile, resolveServerConfig } from "../../src/server/index.js";

const dir = mkdtempSync(join(tmpdir(), "winnow-server-config-"));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("server configuration", () => {
  it("reads YAML, fills defaults, and keeps model specs for the registry", () => {
    const path = write(
      "ok.yaml",
      `port: 9000
models:
  - id: minilm
    reranker: { type: cross-encoder, model: ./models/minilm, dtype: int8 }
  - id: small
    default: true
    aliases: [rerank-v3.5]
    reranker: { type: cross-encoder, model: ./models/tiny }
limits:
  maxDocuments: 200
`,
    );
    const config = resolveServerConfig(loadServerConfigFile(path));
    expect(config.port).toBe(9000);
    expect(config.limits.maxDocuments).toBe(200);
    expect(config.limits.maxQueuedPairs).toBe(4_096);
    expect(config.models[0].reranker).toEqual({ type: "cross-encoder", model: "./models/minilm", dtype: "int8" });
    expect(config.auth.publicPaths).toEqual(["/health", "/ready", "/metrics"]);
  });

  it.each([
    ["no models", { models: [] }, "models"],
    ["a model without a type", { models: [{ id: "a", reranker: { model: "x" } }] }, "models.0.reranker.type"],
    ["more documents than the hard cap", { models: [{ id: "a", reranker: { type: "x" } }], limits: { maxDocuments: 10_001 } }, "limits.maxDocuments"],
    ["a misspelt limit", { models: [{ id: "a", reranker: { type: "x" } }], limits: { maxDocs: 5 } }, "limits"],
    ["a duplicate name", { models: [{ id: "a", reranker: { type: "x" } }, { id: "b", aliases: ["a"], reranker: { type: "x" } }] }, "models.1.aliases.0"],
    ["a short key", { models: [{ id: "a", reranker: { type: "x" } }], auth: { keys: ["short"] } }, "auth.keys.0"],
    ["an alias of a model not served", { models: [{ id: "a", reranker: { type: "x" } }], aliases: { "rerank-v3.5": "b" } }, "aliases.rerank-v3.5: model \"b\" is not served"],
    ["an alias equal to a model id", { models: [{ id: "a", reranker: { type: "x" } }, { id: "b", reranker: { type: "x" } }], aliases: { b: "a" } }, "aliases.b: \"b\" is already a model id"],
    [
      "an alias equal to another model's alias",
      { models: [{ id: "a", aliases: ["x"], reranker: { type: "x" } }, { id: "b", reranker: { type: "x" } }], aliases: { x: "b" } },
      'aliases.x: "x" is already an alias of model "a"',
    ],
    ["an alias naming no model", { models: [{ id: "a", reranker: { type: "x" } }], aliases: { x: "" } }, "aliases.x"],
  ])("rejects %s, naming %s", (_what, input, path) => {
    expect(() => resolveServerConfig(input as never)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", message: expect.stringContaining(path) }));
  });

  it("names the file when it is not valid YAML or JSON", () => {
    const bad = write("bad.json", "{ models: ");
    expect(() => loadServerConfigFile(bad)).toThrow(/bad\.json: not valid JSON/);
    expect(() => loadServerConfigFile(join(dir, "missing.yaml"))).toThrow(/missing\.yaml: cannot read/);
  });
});

describe("API keys", () => {
  it("matches only configured keys, from a file and the environment", () => {
    const file = write("keys.txt", "# team keys\nfile-key-000001\n\nfile-key-000002\n");
    expect(readApiKeyFile(file)).toEqual(["file-key-000001", "file-key-000002"]);
    const keys = collectApiKeys({ keys: [], keysFile: file, keysFromEnv: true, publicPaths: [] }, { WINNOW_API_KEYS: "env-key-000003" });
    expect(keys.size).toBe(3);
    expect(keys.matches("file-key-000002")).toBe(true);
    expect(keys.matches("env-key-000003")).toBe(true);
    expect(keys.matches("file-key-00000")).toBe(false);
    expect(keys.matches("")).toBe(false);
    expect(new ApiKeySet([]).enabled).toBe(false);
    expect(() => readApiKeyFile(write("short.txt", "abc\n"))).toThrow(/line 1/);
  });
});
