import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { serveConfigFromFlags } from "../../../src/cli/commands/serve.js";
import { resolveServerConfig } from "../../../src/server/config.js";
import { UsageError } from "../../../src/cli/usage-error.js";

const dir = mkdtempSync(join(tmpdir(), "winnow-serve-aliases-"));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe("winnow serve --alias", () => {
  it("maps each NAME=MODEL to the model, alongside the file's aliases", () => {
    const cfg = file("aliases.yaml", "models:\n  - id: other\n    reranker: { type: learned }\naliases: { rerank-english-v3.0: other }\n");
    const config = resolveServerConfig(serveConfigFromFlags({ config: cfg, model: "./models/minilm", alias: ["rerank-v3.5=minilm", "*=minilm"], docs: true }));
    expect(config.aliases).toEqual({ "rerank-english-v3.0": "other", "rerank-v3.5": "minilm", "*": "minilm" });
  });

  it.each([
    [["rerank-v3.5"], /--alias must be NAME=MODEL/],
    [["=minilm"], /--alias must be NAME=MODEL/],
    [["rerank-v3.5=nope"], /--alias rerank-v3\.5=nope: model "nope" is not served here \(model ids: minilm\)/],
    [["rerank-v3.5=minilm", "rerank-v3.5=minilm"], /--alias rerank-v3\.5: given twice/],
    [["minilm=minilm"], /"minilm" is already a model id/],
  ])("refuses %j with a usage error naming --alias", (alias, message) => {
    const err = (() => {
      try {
        serveConfigFromFlags({ model: "./models/minilm", alias, docs: true });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
  });

  it("refuses an alias equal to another model's alias in the file", () => {
    const cfg = file("clash.yaml", "models:\n  - id: other\n    aliases: [rerank-v3.5]\n    reranker: { type: learned }\n");
    expect(() => serveConfigFromFlags({ config: cfg, model: "./models/minilm", alias: ["rerank-v3.5=minilm"], docs: true })).toThrow(
      /--alias rerank-v3\.5=minilm: "rerank-v3\.5" is already an alias of model "other"/,
    );
  });
});

describe("winnow serve --config errors", () => {
  it("name the file and the setting", () => {
    const bad = file("server.yaml", "models:\n  - id: a\n    reranker: { type: learned }\nlimits: { maxDocuments: 20000 }\n");
    expect(() => serveConfigFromFlags({ config: bad, docs: true })).toThrow(
      expect.objectContaining({ code: "CONFIG_INVALID", message: expect.stringMatching(/server\.yaml: limits\.maxDocuments: .*10000/) }),
    );
    const alias = file("alias.yaml", "models:\n  - id: a\n    reranker: { type: learned }\naliases: { rerank-v3.5: b }\n");
    expect(() => serveConfigFromFlags({ config: alias, docs: true })).toThrow(/alias\.yaml: aliases\.rerank-v3\.5: model "b" is not served here/);
    const noModel = file("empty.yaml", "port: 9000\n");
    expect(() => serveConfigFromFlags({ config: noModel, docs: true })).toThrow(/nothing to serve/);
  });

  it("check flag values themselves, so a file is not blamed for them", () => {
    expect(() => serveConfigFromFlags({ model: "m", maxDocuments: "20000", docs: true })).toThrow(/--max-documents must be an integer from 1 to 10000/);
    expect(() => serveConfigFromFlags({ model: "m", logLevel: "loud", docs: true })).toThrow(/--log-level must be one of/);
    expect(() => serveConfigFromFlags({ model: "m", modelId: "", docs: true })).toThrow(/--model-id must not be empty/);
  });
});
