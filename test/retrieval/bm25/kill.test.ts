import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const indexModule = pathToFileURL(join(root, "src", "retrieval", "bm25", "bm25-index.ts")).href;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "winnow-kill-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("a process killed during append or merge", () => {
  it("leaves the previous index intact; the next commit clears what it left", async () => {
    const dir = join(tmp, "idx");
    const docs = Array.from({ length: 300 }, (_, i) => ({ id: `d${i}`, text: `document ${i} about ${i % 7 === 0 ? "cats" : "dogs"} and number ${i % 13}` }));
    await Bm25Index.write(dir, docs.slice(0, 200), { workers: 0 });
    await Bm25Index.append(dir, docs.slice(200, 250), { workers: 0 });
    const manifest = await readFile(join(dir, "manifest.json"), "utf8");
    const before = await (await Bm25Index.load(dir)).search("cats number 3", 20);
    const child = join(tmp, "child.mts");
    await writeFile(
      child,
      `import { Bm25Index } from ${JSON.stringify(indexModule)};
const [dir, op] = process.argv.slice(2);
const kill = () => { process.kill(process.pid, "SIGKILL"); return new Promise(() => {}); };
const more = Array.from({ length: 50 }, (_, i) => ({ id: i < 10 ? "d" + i : "n" + i, text: "replacement cats " + i }));
if (op === "append") await Bm25Index.append(dir, more, { workers: 0, beforeCommit: kill });
else if (op === "delete") await Bm25Index.delete(dir, ["d1", "d2"], { beforeCommit: kill });
else await Bm25Index.merge(dir, { beforeCommit: kill });
`,
    );
    for (const op of ["append", "delete", "merge"]) {
      const r = spawnSync(process.execPath, ["--import", "tsx", child, dir, op], { cwd: root, encoding: "utf8" });
      expect(r.signal, `${op}: ${r.stderr}`).toBe("SIGKILL");
      // Its new segment or deletion file is on disk, the manifest is the old one, and the index answers as before.
      expect(await readFile(join(dir, "manifest.json"), "utf8"), op).toBe(manifest);
      const index = await Bm25Index.load(dir, { verify: true });
      expect(index.size).toBe(250);
      expect(await index.search("cats number 3", 20), op).toEqual(before);
      index.close();
    }
    expect((await readdir(dir)).length).toBeGreaterThan(3); // manifest, two segments, and the leftovers
    await Bm25Index.append(dir, docs.slice(250), { workers: 0 });
    const m = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
    expect((await readdir(dir)).sort()).toEqual(["manifest.json", ...m.segments.map((s: { name: string }) => s.name)].sort());
    expect((await Bm25Index.load(dir)).size).toBe(300);
  }, 120_000);
});
