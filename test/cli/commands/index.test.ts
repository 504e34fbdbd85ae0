import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as registerIndex } from "../../../src/cli/commands/index.js";
import { UsageError } from "../../../src/cli/usage-error.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mini = join(root, "examples", "scifact-mini");

async function run(args: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  const err = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    const p = new Command().exitOverride();
    registerIndex(p);
    await p.parseAsync(["node", "winnow", "index", ...args]);
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  return lines.join("\n");
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "winnow-index-cli-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("winnow index: build, --append, --delete-ids, --merge", () => {
  it("updates an index in place, each step a summary line", async () => {
    const out = join(tmp, "idx");
    const corpus = join(tmp, "part.jsonl");
    await writeFile(corpus, [JSON.stringify({ _id: "n1", title: "New", text: "glioma stem cells again" }), JSON.stringify({ _id: "n2", text: "another new document" })].join("\n") + "\n");
    expect(await run(["--corpus", mini, "--out", out, "--workers", "0", "--store-text", "compressed"])).toMatch(/^indexed 683 documents, \d+ terms, avg [\d.]+ terms\/doc in [\d.]+ s; saved to .* \(k1=0\.9, b=0\.4\)$/);
    expect(await run(["--corpus", corpus, "--out", out, "--append", "--workers", "0"])).toMatch(/^appended 2 documents \(0 replaced\); 685 in the index, 2 segments in/);
    expect(await run(["--corpus", corpus, "--out", out, "--append", "--workers", "0"])).toMatch(/^appended 2 documents \(2 replaced\); 685 in the index, 3 segments/);
    const ids = join(tmp, "ids.txt");
    await writeFile(ids, "n1\nmissing-id\n");
    const deleted = await run(["--out", out, "--delete-ids", ids]);
    expect(deleted).toContain("warning: 1 of the ids to delete are not in the index");
    expect(deleted).toMatch(/deleted 1 documents; 684 left, 3 segments/);
    expect(await run(["--out", out, "--delete", "n2,also-missing"])).toMatch(/deleted 1 documents; 683 left/);
    expect(await run(["--corpus", corpus, "--out", out, "--append", "--workers", "0"])).toMatch(/^appended 2 documents \(0 replaced\); 685 in the index/);
    await run(["--out", out, "--delete", "n1"]);
    expect(await run(["--out", out, "--merge"])).toMatch(/^merged into 1 segment: 684 documents/);
    const index = await Bm25Index.load(out);
    expect(index.docIndex("n1")).toBeUndefined();
    expect(index.document(index.docIndex("n2")!).text).toBe("another new document");
  });

  it("rejects contradictory or bad flags with a usage error naming them", async () => {
    const out = join(tmp, "x");
    await expect(run(["--out", out])).rejects.toThrow(/--dataset DIR or --corpus PATH/);
    await expect(run(["--dataset", mini, "--corpus", mini, "--out", out])).rejects.toThrow(/not both/);
    await expect(run(["--corpus", mini, "--out", out, "--append", "--merge"])).rejects.toThrow(UsageError);
    await expect(run(["--corpus", mini, "--out", out, "--store-text", "zip"])).rejects.toThrow(/--store-text must be one of compressed, none, source/);
    await expect(run(["--corpus", mini, "--out", out, "--memory-budget", "1"])).rejects.toThrow(/--memory-budget must be an integer from 16/);
    await expect(run(["--corpus", mini, "--out", out, "--append", "--k1", "1"])).rejects.toThrow(/--k1\/--b are set when an index is built/);
    await expect(run(["--corpus", join(tmp, "nope.jsonl"), "--out", out])).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("nope.jsonl does not exist") });
  });
});
