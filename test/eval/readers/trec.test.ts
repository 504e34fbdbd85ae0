import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WinnowError } from "../../../src/core/errors.js";
import { readRun, writeRun } from "../../../src/eval/readers/trec.js";

describe("TREC run files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "winnow-trec-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes ranks in trec_eval order and reads back the same scores", async () => {
    const path = join(dir, "run.txt");
    const run = new Map([
      ["q1", [{ docId: "a", score: 0.1 }, { docId: "b", score: 1 / 3 }, { docId: "c", score: 1 / 3 }]],
      ["q2", [{ docId: "x", score: -2.5e-7 }]],
    ]);
    await writeRun(path, run, { tag: "bm25" });
    const text = await readFile(path, "utf8");
    // b and c tie: trec_eval puts "c" first (docid descending); the rank column agrees.
    expect(text.split("\n")[0]).toBe(`q1 Q0 c 1 ${String(1 / 3)} bm25`);
    expect(text.split("\n")[1]).toBe(`q1 Q0 b 2 ${String(1 / 3)} bm25`);
    const back = await readRun(path);
    expect(back.get("q1")!.map((e) => [e.docId, e.score])).toEqual([["c", 1 / 3], ["b", 1 / 3], ["a", 0.1]]);
    expect(back.get("q2")).toEqual([{ docId: "x", score: -2.5e-7 }]);
    // No temporary file is left beside the run.
    expect(await readdir(dir)).toEqual(["run.txt"]);
  });

  it("refuses ids that would corrupt the file and leaves no partial output", async () => {
    const path = join(dir, "run.txt");
    await expect(writeRun(path, new Map([["q 1", [{ docId: "a", score: 1 }]]]))).rejects.toThrow(/query id "q 1"/);
    await expect(writeRun(path, new Map([["q1", [{ docId: "a b", score: 1 }]]]))).rejects.toThrow(/document id "a b"/);
    await expect(writeRun(path, new Map([["q1", [{ docId: "a", score: Number.POSITIVE_INFINITY }]]]))).rejects.toThrow(/non-finite/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("names the line of a malformed run", async () => {
    const path = join(dir, "bad.run");
    const cases: Array<[string, RegExp]> = [
      ["q1 Q0 a 1 1.0 t\nq1 Q0 b 2 1.0\n", /bad\.run:2: expected 6 fields/],
      ["q1 Q0 a 1 high t\n", /bad\.run:1: score must be a finite number, got "high"/],
      ["q1 Q0 a 1 2 t\n\nq1 Q0 a 2 1 t\n", /bad\.run:3: document "a" listed twice for query "q1"/],
      ["# only a comment\n", /run file has no results/],
    ];
    for (const [content, pattern] of cases) {
      await writeFile(path, content);
      const err = await readRun(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WinnowError);
      expect((err as WinnowError).message).toMatch(pattern);
    }
    await expect(readRun(join(dir, "missing.run"))).rejects.toThrow(/run file not found: .*missing\.run/);
  });
});
