import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Document } from "../../../src/core/types.js";
import { readCorpus } from "../../../src/eval/readers/beir.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { planMerges } from "../../../src/retrieval/bm25/merge-policy.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mini = join(root, "examples", "scifact-mini");
const QUERIES = ["stem cells in glioma", "vitamin D and cancer risk", "0-dimensional biomaterials show inductive properties", "protein", "the of and", "mitochondria dna repair mutation"];

let tmp: string;
let docs: Document[];
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "winnow-seg-"));
  docs = [];
  for await (const d of readCorpus(mini)) docs.push(d);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type Hit = [string, number];
async function run(index: Bm25Index, k: number): Promise<Hit[][]> {
  return Promise.all(QUERIES.map(async (q) => (await index.search(q, k)).map((h) => [h.document.id, h.score] as Hit)));
}

/** Everything a fresh in-memory build of `expected` would answer, compared with `index`. */
async function expectSameAs(index: Bm25Index, expected: Document[]): Promise<void> {
  const fresh = await Bm25Index.build(expected);
  expect(index.size).toBe(fresh.size);
  expect(index.docCount).toBe(fresh.docCount);
  expect(index.avgDocLength).toBe(fresh.avgDocLength);
  for (const term of ["cell", "cancer", "protein", "vitamin", "glioma"]) {
    const a = index.termId(term);
    const b = fresh.termId(term);
    expect(a === undefined, term).toBe(b === undefined);
    if (a !== undefined && b !== undefined) {
      expect(index.docFreq(a), term).toBe(fresh.docFreq(b));
      expect(index.idf(a), term).toBe(fresh.idf(b));
    }
  }
  for (const k of [10, 100, 1000]) expect(await run(index, k)).toEqual(await run(fresh, k));
  const weighted = [
    { term: "cell", weight: 0.7 },
    { term: "cancer", weight: 0.2 },
    { term: "tumor", weight: 0.1 },
  ];
  expect((await index.searchWeighted(weighted, 50)).map((h) => [h.document.id, h.score])).toEqual((await fresh.searchWeighted(weighted, 50)).map((h) => [h.document.id, h.score]));
  const some = expected[Math.floor(expected.length / 2)];
  const i = index.docIndex(some.id)!;
  expect({ ...index.document(i) }).toEqual(some);
  const names = (x: Bm25Index, d: number) => Array.from(x.documentTerms(d).terms, (t) => x.term(t));
  expect(names(index, i)).toEqual(names(fresh, fresh.docIndex(some.id)!));
}

describe("streamed segmented build", () => {
  it("equals the in-memory build: many flushed segments merged, in this thread and in two workers", async () => {
    for (const workers of [0, 2]) {
      const dir = join(tmp, `streamed-${workers}`);
      const summary = await Bm25Index.write(dir, mini, { memoryBudgetMb: 0.2, workers });
      expect(summary.merged, `workers ${workers}`).toBeGreaterThan(3); // the budget forced several segments
      expect(summary.segments).toBe(1);
      const index = await Bm25Index.load(dir);
      expect(index.segmentCount).toBe(1);
      expect(index.vocabularySize).toBe((await Bm25Index.build(docs)).vocabularySize);
      await expectSameAs(index, docs);
      index.close();
    }
  });

  it("reads gzip JSONL and TREC, and stores text compressed, by source offset, or not at all", async () => {
    const jsonl = await readFile(join(mini, "corpus.jsonl"));
    const gz = join(tmp, "corpus.jsonl.gz");
    await writeFile(gz, gzipSync(jsonl));
    const fromGz = await Bm25Index.load((await Bm25Index.write(join(tmp, "gz"), gz, { workers: 0 }), join(tmp, "gz")));
    expect(await run(fromGz, 10)).toEqual(await run(await Bm25Index.build(docs), 10));

    const plain = join(tmp, "corpus.jsonl");
    await writeFile(plain, jsonl);
    await Bm25Index.write(join(tmp, "src"), plain, { workers: 0, storeText: "source" });
    const bySource = await Bm25Index.load(join(tmp, "src"));
    const hit = (await bySource.search("stem cells in glioma", 1))[0];
    expect({ ...hit.document }).toEqual(docs.find((d) => d.id === hit.document.id));
    const storedBytes = async (dir: string) => {
      const m = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
      return m.segments[0].files["stored.bin"].bytes as number;
    };
    expect(await storedBytes(join(tmp, "src"))).toBeLessThan((await storedBytes(join(tmp, "gz"))) / 5);
    await Bm25Index.write(join(tmp, "none"), plain, { workers: 0, storeText: "none" });
    const none = await Bm25Index.load(join(tmp, "none"));
    expect((await none.search("stem cells in glioma", 1))[0].document).toMatchObject({ id: hit.document.id, text: "" });

    const trec = join(tmp, "corpus.trec");
    const sample = docs.slice(0, 40);
    await writeFile(trec, sample.map((d) => `<DOC>\n<DOCNO>${d.id}</DOCNO>\n<TITLE>${d.title ?? ""}</TITLE>\n<TEXT>\n${d.text}\n</TEXT>\n</DOC>\n`).join(""));
    await Bm25Index.write(join(tmp, "trec"), trec, { workers: 0 });
    const fromTrec = await Bm25Index.load(join(tmp, "trec"));
    expect(await run(fromTrec, 10)).toEqual(await run(await Bm25Index.build(sample.map(({ metadata: _m, ...d }) => d)), 10));
  });
});

describe("incremental updates", () => {
  it("append (new ids and replacements), delete and merge keep statistics and rankings equal to a fresh build", async () => {
    const dir = join(tmp, "inc");
    const first = docs.slice(0, 400);
    await Bm25Index.write(dir, first, { workers: 0 });
    // The second batch brings 283 new documents and replaces 50 old ones with new text.
    const replaced = docs.slice(100, 150).map((d) => ({ ...d, text: `${d.text} glioma stem cells replaced` }));
    const summary = await Bm25Index.append(dir, [...docs.slice(400), ...replaced], { workers: 0 });
    expect(summary).toMatchObject({ added: docs.length - 400 + 50, replaced: 50 });
    let index = await Bm25Index.load(dir);
    expect(index.segmentCount).toBe(2);
    const current = new Map(docs.map((d) => [d.id, d]));
    for (const d of replaced) current.set(d.id, d);
    await expectSameAs(index, [...current.values()]);

    const gone = docs.slice(0, 60).map((d) => d.id);
    const del = await Bm25Index.delete(dir, [...gone, "no-such-id"]);
    expect(del).toMatchObject({ deleted: 60, missing: 1 });
    for (const id of gone) current.delete(id);
    index = await Bm25Index.load(dir);
    expect(index.docIndex(gone[0])).toBeUndefined();
    await expectSameAs(index, [...current.values()]);
    // Pruned search over disk cursors skips deleted documents exactly as exhaustive scoring does.
    Bm25Index.dynamicPruning = false;
    const minPostings = Bm25Index.pruningMinPostings;
    Bm25Index.pruningMinPostings = 0;
    try {
      const exhaustive = await run(index, 100);
      Bm25Index.dynamicPruning = true;
      expect(await run(index, 100)).toEqual(exhaustive);
    } finally {
      Bm25Index.dynamicPruning = true;
      Bm25Index.pruningMinPostings = minPostings;
    }

    const before = await run(index, 100);
    await Bm25Index.merge(dir);
    // The merge removed the segments this open index reads; it keeps answering from its open files.
    expect(await run(index, 100)).toEqual(before);
    expect({ ...index.document(index.docIndex(docs[300].id)!) }).toEqual(docs[300]);
    index = await Bm25Index.load(dir);
    expect(index.segmentCount).toBe(1);
    await expectSameAs(index, [...current.values()]);
    expect((await readdir(dir)).filter((n) => n !== "manifest.json")).toHaveLength(1);
  });

  it("the tiered policy merges a full tier and rewrites a segment past its deleted share", () => {
    const small = Array.from({ length: 10 }, (_, i) => ({ name: `s${i}`, maxDoc: 500 + i, deleted: 0 }));
    expect(planMerges(small)).toEqual([small.map((s) => s.name)]);
    expect(planMerges(small.slice(0, 9))).toEqual([]);
    expect(planMerges([{ name: "big", maxDoc: 100_000, deleted: 30_000 }, ...small.slice(0, 3)])).toEqual([["big"]]);
  });
});

describe("bad input leaves the previous index intact", () => {
  it("names the file and line of a non-JSON line, a missing _id, a duplicate _id; an empty corpus; a full disk", async () => {
    const dir = join(tmp, "keep");
    await Bm25Index.write(dir, docs.slice(0, 20), { workers: 0 });
    const before = await readFile(join(dir, "manifest.json"), "utf8");
    const corpus = (lines: string[]) => {
      const path = join(tmp, `bad-${Math.random().toString(36).slice(2)}.jsonl`);
      return writeFile(path, lines.join("\n") + "\n").then(() => path);
    };
    const good = (id: string) => JSON.stringify({ _id: id, text: `text of ${id}` });
    const cases: Array<[string[], RegExp]> = [
      [[good("a"), "{not json", good("b")], /bad-\w+\.jsonl:2: not valid JSON/],
      [[good("a"), JSON.stringify({ text: "no id" })], /bad-\w+\.jsonl:2: "_id" is missing/],
      [[good("a"), good("b"), good("a")], /bad-\w+\.jsonl:3: duplicate _id "a" \(first at line 1\); pass --allow-duplicate-ids/],
      [[], /bad-\w+\.jsonl: corpus is empty/],
    ];
    for (const [lines, message] of cases) {
      const path = await corpus(lines);
      for (const workers of [0, 2]) {
        const err = await Bm25Index.write(dir, path, { workers }).catch((e: unknown) => e);
        expect(err, `${message} (workers ${workers})`).toMatchObject({ code: "INVALID_INPUT", message: expect.stringMatching(message) });
        expect((err as Error).message).not.toContain("\n");
      }
      const append = await Bm25Index.append(dir, path, { workers: 0 }).catch((e: unknown) => e);
      expect(append).toMatchObject({ code: "INVALID_INPUT", message: expect.stringMatching(message) });
    }
    // Duplicates found across flushed segments name both lines too.
    const spread = await corpus([good("x"), ...Array.from({ length: 300 }, (_, i) => good(`n${i}`)), good("x")]);
    await expect(Bm25Index.write(dir, spread, { workers: 0, memoryBudgetMb: 0.01 })).rejects.toThrow(/:302: duplicate _id "x" \(first at line 1\)/);
    // --allow-duplicate-ids: the last one wins.
    const dupes = await corpus([good("a"), JSON.stringify({ _id: "a", text: "the last one" })]);
    const other = join(tmp, "dupes");
    await Bm25Index.write(other, dupes, { workers: 0, allowDuplicateIds: true });
    const d = await Bm25Index.load(other);
    expect(d.size).toBe(1);
    expect(d.document(d.docIndex("a")!).text).toBe("the last one");
    // A disk that fills up (a write limit standing in for ENOSPC).
    await expect(Bm25Index.write(dir, mini, { workers: 0, writeLimitBytes: 50_000 })).rejects.toThrow(/ran out of space: it would exceed the write limit of 50000 bytes; the previous index is intact/);
    await expect(Bm25Index.append(dir, mini, { workers: 0, writeLimitBytes: 50_000 })).rejects.toThrow(/ran out of space/);
    expect(await readFile(join(dir, "manifest.json"), "utf8")).toBe(before);
    expect((await readdir(dir)).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
    const still = await Bm25Index.load(dir, { verify: true });
    expect(still.size).toBe(20);
  });
});
