import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as registerIndex } from "../../../src/cli/commands/index.js";
import { register as registerSearch } from "../../../src/cli/commands/search.js";
import { UsageError } from "../../../src/cli/usage-error.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mini = join(root, "examples", "scifact-mini");

function program(): Command {
  const p = new Command().exitOverride();
  registerIndex(p);
  registerSearch(p);
  return p;
}

async function run(args: string[]): Promise<string> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
  try {
    await program().parseAsync(["node", "winnow", ...args]);
  } finally {
    spy.mockRestore();
  }
  return lines.join("\n");
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "winnow-bm25-cli-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("winnow index / winnow search", () => {
  it("indexes the demo corpus and searches it like the library does", async () => {
    const out = join(tmp, "mini.idx");
    const summary = await run(["index", "--dataset", mini, "--out", out, "--k1", "1.2"]);
    expect(summary).toMatch(/^indexed 683 documents, \d+ terms/);
    const json = JSON.parse(await run(["search", "--index", out, "stem cells in glioma", "-k", "5", "--format", "json"]));
    const index = await Bm25Index.load(out);
    expect(index.params.k1).toBe(1.2);
    const expected = await index.search("stem cells in glioma", 5);
    expect(json.map((h: { id: string }) => h.id)).toEqual(expected.map((h) => h.document.id));
    expect(json[0]).toMatchObject({ rank: 1, score: expected[0].score, document: { id: expected[0].document.id } });
    const table = await run(["search", "--index", out, "stem cells in glioma", "-k", "3"]);
    expect(table.split("\n")).toHaveLength(4);
    expect(table).toContain(expected[0].document.id);
  });

  it("rejects bad flags with a usage error naming the flag", async () => {
    await expect(run(["search", "--index", tmp, "x", "-k", "0"])).rejects.toThrow(UsageError);
    await expect(run(["search", "--index", tmp, "x", "--format", "xml"])).rejects.toThrow(/--format/);
    await expect(run(["search", "--index", tmp, "x", "--b", "3"])).rejects.toThrow(/--b/);
    await expect(run(["search", "--index", tmp, "x", "--filter", "{nope"])).rejects.toThrow(/--filter/);
    await expect(run(["index", "--dataset", mini, "--out", join(tmp, "y"), "--k1", "-1"])).rejects.toThrow(/--k1/);
  });

  it("--out naming an existing file is refused by name and the file is kept; re-indexing into an index folder replaces it", async () => {
    const file = join(tmp, "existing.txt");
    await writeFile(file, "not an index");
    await expect(run(["index", "--dataset", mini, "--out", file, "-q"])).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining(`${file} exists and is not a folder`) });
    expect(await readFile(file, "utf8")).toBe("not an index");
    const out = join(tmp, "again.idx");
    await run(["index", "--dataset", mini, "--out", out, "-q"]);
    await run(["index", "--dataset", mini, "--out", out, "-q", "--k1", "1.5"]);
    expect((await Bm25Index.load(out)).params.k1).toBe(1.5);
    // Files beside the index (e.g. vectors from `winnow embed`) would go stale: refused, named, kept.
    await writeFile(join(out, "vectors.wnvec"), "v");
    await expect(run(["index", "--dataset", mini, "--out", out, "-q"])).rejects.toMatchObject({ code: "INVALID_INPUT", message: expect.stringContaining("vectors.wnvec") });
    expect(await readFile(join(out, "vectors.wnvec"), "utf8")).toBe("v");
  });
});
