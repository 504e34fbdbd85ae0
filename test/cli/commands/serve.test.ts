import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serveConfigFromFlags } from "../../../src/cli/commands/serve.js";
import { resolveServerConfig } from "../../../src/server/config.js";

describe("winnow serve flags", () => {
  it("--model alone serves a local cross-encoder named after its folder", () => {
    const config = resolveServerConfig(serveConfigFromFlags({ model: "./models/minilm/", dtype: "int8", port: "9001", maxDocuments: "50", docs: true }));
    expect(config.models).toEqual([{ id: "minilm", default: true, reranker: { type: "cross-encoder", model: "./models/minilm/", dtype: "int8" } }]);
    expect(config.port).toBe(9001);
    expect(config.limits.maxDocuments).toBe(50);
  });

  it("layers flags over a config file, the flag's model becoming the default", () => {
    const dir = mkdtempSync(join(tmpdir(), "winnow-serve-flags-"));
    const file = join(dir, "server.yaml");
    writeFileSync(file, "port: 7000\nmodels:\n  - id: other\n    default: true\n    reranker: { type: learned }\nlimits: { maxQueuedPairs: 900 }\n");
    const config = resolveServerConfig(
      serveConfigFromFlags({ config: file, model: "./m", modelId: "main", maxQueuedPairs: "1200", requestTimeout: "5000", apiKeyFile: "/keys", docs: false }),
    );
    expect(config.models.map((m) => [m.id, m.default])).toEqual([["main", true], ["other", false]]);
    expect(config.port).toBe(7000);
    expect(config.limits.maxQueuedPairs).toBe(1_200);
    expect(config.limits.requestTimeoutMs).toBe(5_000);
    expect(config.auth.keysFile).toBe("/keys");
    expect(config.docs).toBe(false);
  });

  it("--pipeline alone serves the pipeline at /v1/search, with no rerank model; it overrides the file's", () => {
    const alone = resolveServerConfig(serveConfigFromFlags({ pipeline: "./hybrid.yaml", docs: true }));
    expect(alone.models).toEqual([]);
    expect(alone.pipeline).toBe("./hybrid.yaml");
    const dir = mkdtempSync(join(tmpdir(), "winnow-serve-pipeline-"));
    const file = join(dir, "server.yaml");
    writeFileSync(file, "pipeline: ./from-file.yaml\nmodels:\n  - id: other\n    reranker: { type: learned }\n");
    expect(resolveServerConfig(serveConfigFromFlags({ config: file, docs: true })).pipeline).toBe(join(dir, "from-file.yaml"));
    expect(resolveServerConfig(serveConfigFromFlags({ config: file, pipeline: "/p.yaml", docs: true })).pipeline).toBe("/p.yaml");
  });

  it("refuses to start with nothing to serve, and names a bad flag value", () => {
    expect(() => serveConfigFromFlags({ docs: true })).toThrow(/nothing to serve/);
    expect(() => serveConfigFromFlags({ model: "m", port: "http", docs: true })).toThrow(/--port must be an integer/);
    expect(() => serveConfigFromFlags({ model: "m", maxDocuments: "0", docs: true })).toThrow(/--max-documents must be an integer from 1 to 10000/);
  });
});
