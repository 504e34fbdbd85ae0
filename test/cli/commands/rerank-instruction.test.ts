import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../../src/cli/main.js";
import { ensureGeneratedModel } from "../../../src/onnx/generate.js";

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => void (stderr += parts.map(String).join(" ") + "\n"));
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => void (stdout += parts.map(String).join(" ") + "\n"));
  const code = await main(["node", "winnow", ...args]);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

describe("winnow rerank --instruction", () => {
  let dir: string;
  let docs: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "winnow-instruction-"));
    docs = join(dir, "docs.jsonl");
    writeFileSync(docs, ['{"id":"a","text":"Scurvy results from a lack of vitamin C."}', '{"id":"b","text":"Bananas are yellow."}'].join("\n"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => vi.restoreAllMocks());

  it("a Qwen3-style decoder model reads it: scores differ from the default instruction's", async () => {
    const model = await ensureGeneratedModel("tiny-qwen3");
    const scores = async (...extra: string[]) => {
      const r = await cli("rerank", "--model", model, "-q", "what causes scurvy", "-d", docs, "--format", "json", ...extra);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { reranker: string; results: Array<{ id: string; score: number }> };
      expect(out.reranker).toBe(`decoder:${model}`);
      return Object.fromEntries(out.results.map((x) => [x.id, x.score]));
    };
    const plain = await scores();
    const instructed = await scores("--instruction", "Prefer passages about fruit");
    expect(instructed.a).not.toBeCloseTo(plain.a, 6);
  });

  it("a model that takes none exits 2 with one line naming the family", async () => {
    for (const preset of ["tiny-bert", "tiny-modernbert"] as const) {
      const model = await ensureGeneratedModel(preset);
      const r = await cli("rerank", "--model", model, "-q", "q", "-d", docs, "--instruction", "be strict");
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/^winnow: instruction: the cross-encoder family's model .* does not read an instruction/);
    }
    const learned = await cli("rerank", "--reranker", "learned", "-q", "q", "-d", docs, "--instruction", "be strict");
    expect(learned.code).toBe(2);
    expect(learned.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(learned.stderr).toMatch(/learned/);
  });
});
