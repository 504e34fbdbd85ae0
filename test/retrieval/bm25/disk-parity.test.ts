import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { Document } from "../../../src/core/types.js";
import { loadBeirDataset, readCorpus } from "../../../src/eval/readers/beir.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const scifact = join(root, "..", "shared", "datasets", "scifact");
const present = existsSync(join(scifact, "corpus.jsonl"));

let tmp: string | undefined;
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// The in-memory index is Lucene-identical (reference-collections.test.ts); a saved index must rank exactly as it does.
describe.skipIf(!present)(`saved segmented index = in-memory index on SciFact${present ? "" : ` (skipped: ${scifact} is absent)`}`, () => {
  it("streamed (segments merged), and appended (two segments with replacements and deletions): every test query's top 1000 identical", async () => {
    tmp = await mkdtemp(join(tmpdir(), "winnow-parity-"));
    const docs: Document[] = [];
    for await (const d of readCorpus(scifact)) docs.push(d);
    const { queries } = await loadBeirDataset(scifact, "test");
    const top = async (index: Bm25Index) => {
      const out: Array<Array<[string, number]>> = [];
      for (const q of queries) out.push((await index.search(q, 1000)).map((h) => [h.document.id, h.score]));
      return out;
    };
    const expected = await top(await Bm25Index.build(docs));
    const streamed = join(tmp, "streamed");
    const summary = await Bm25Index.write(streamed, scifact, { workers: 0, memoryBudgetMb: 4 });
    expect(summary.merged).toBeGreaterThan(1);
    expect(await top(await Bm25Index.load(streamed))).toEqual(expected);

    // 3,000 documents, then the rest plus 200 replaced by the same text and 100 deleted and re-added.
    const updated = join(tmp, "updated");
    await Bm25Index.write(updated, docs.slice(0, 3000), { workers: 0 });
    await Bm25Index.delete(updated, docs.slice(1000, 1100).map((d) => d.id));
    await Bm25Index.append(updated, [...docs.slice(3000), ...docs.slice(500, 700), ...docs.slice(1000, 1100)], { workers: 0 });
    const index = await Bm25Index.load(updated);
    expect(index.segmentCount).toBe(2);
    expect(index.size).toBe(docs.length);
    expect(await top(index)).toEqual(expected);
  }, 300_000);
});
