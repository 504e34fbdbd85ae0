import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildProgram, main } from "../../src/cli/main.js";
import { retrieverSpecFromFlag, retrieverTypesHelp } from "../../src/cli/retriever-options.js";
import { UsageError } from "../../src/cli/usage-error.js";
import { registerRetriever, retrieverTypes } from "../../src/retrieval/registry.js";

const repo = resolve(import.meta.dirname, "../..");

async function help(command: string): Promise<string> {
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const code = await main(["node", "winnow", command, "--help"]);
  vi.restoreAllMocks();
  expect(code).toBe(0);
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe("--retriever", () => {
  it("every command that retrieves takes it, default bm25, and its help lists every registered retriever", async () => {
    const program = await buildProgram();
    const withRetriever = program.commands.filter((c) => c.options.some((o) => o.long === "--retriever"));
    expect(withRetriever.map((c) => c.name()).sort()).toEqual(["calibrate", "demo", "eval", "finetune", "label", "search", "sweep"]);
    for (const cmd of withRetriever) {
      expect(cmd.options.find((o) => o.long === "--retriever")?.defaultValue, cmd.name()).toBe("bm25");
      const text = await help(cmd.name());
      for (const { type, description } of retrieverTypes()) expect(text, `${cmd.name()} --help`).toMatch(new RegExp(`^  ${type} +${description.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
      expect(text).toContain("docs/pipelines.md");
    }
    expect(existsSync(join(repo, "docs/pipelines.md"))).toBe(true);
  });

  it("is generated from the registry: a retriever registered at run time is listed and accepted by name", () => {
    registerRetriever("test-listed", async () => ({ name: "x", search: async () => [] }), "registered by a test");
    expect(retrieverTypesHelp()).toMatch(/^ {2}test-listed {2,}registered by a test$/m);
    expect(retrieverSpecFromFlag("test-listed")).toEqual({ type: "test-listed" });
  });

  it("takes a name or a JSON object, layers flag options on it, and refuses anything else naming what is wrong", () => {
    expect(retrieverSpecFromFlag("bm25")).toEqual({ type: "bm25" });
    expect(retrieverSpecFromFlag(' {"type":"bm25","k1":1.2} ', { b: 0.5, k1: undefined })).toEqual({ type: "bm25", k1: 1.2, b: 0.5 });
    expect(() => retrieverSpecFromFlag("bm25 dense")).toThrow(UsageError);
    expect(() => retrieverSpecFromFlag('{"k1":1}')).toThrow(/--retriever: retriever spec needs a string `type`/);
    expect(() => retrieverSpecFromFlag("null")).toThrow(/unknown retriever type "null"/);
    expect(() => retrieverSpecFromFlag('{"type":"dense","k":5}')).toThrow(/--retriever: dense retriever: k: unknown option "k"/);
  });
});
