import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Document } from "../../../src/core/types.js";
import { evaluateRun } from "../../../src/eval/evaluate.js";
import { loadBeirDataset, readCorpus } from "../../../src/eval/readers/beir.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const datasets = join(root, "..", "shared", "datasets");

// Lucene 8 BM25 flat (k1 0.9, b 0.4) figures from ../shared/README.md; we must land within ±0.005.
const REFERENCE: Array<{ name: string; ndcg10: number; r100: number; r1000?: number }> = [
  { name: "scifact", ndcg10: 0.6789, r100: 0.9253, r1000: 0.9767 },
  { name: "cranfield", ndcg10: 0.351, r100: 0.7224, r1000: 0.9518 },
  { name: "cisi", ndcg10: 0.3585, r100: 0.4249, r1000: 0.9275 },
  { name: "adi", ndcg10: 0.4747, r100: 0.9103 },
];

// One build per collection, shared by the tests below (SciFact is the slow one).
const built = new Map<string, Promise<Bm25Index>>();
function indexOf(dir: string): Promise<Bm25Index> {
  let index = built.get(dir);
  if (index === undefined) {
    index = (async () => {
      const docs: Document[] = [];
      for await (const d of readCorpus(dir)) docs.push(d);
      return Bm25Index.build(docs);
    })();
    built.set(dir, index);
  }
  return index;
}

for (const ref of REFERENCE) {
  const dir = join(datasets, ref.name);
  const present = existsSync(join(dir, "corpus.jsonl"));
  describe.skipIf(!present)(`BM25 on ${ref.name} test${present ? "" : ` (skipped: ${dir} is absent)`}`, () => {
    it("matches the Lucene 8 reference within ±0.005 with default parameters", async () => {
      const index = await indexOf(dir);
      const { queries, qrels } = await loadBeirDataset(dir, "test");
      const run = new Map<string, Array<{ docId: string; score: number }>>();
      for (const q of queries) {
        const hits = await index.search(q, 1000);
        run.set(q.id!, hits.map((h) => ({ docId: h.document.id, score: h.score })));
      }
      const m = evaluateRun(qrels, run, ["ndcg_cut_10", "recall_100", "recall_1000"]).metrics;
      expect(Math.abs(m.ndcg_cut_10 - ref.ndcg10)).toBeLessThanOrEqual(0.005);
      expect(Math.abs(m.recall_100 - ref.r100)).toBeLessThanOrEqual(0.005);
      if (ref.r1000 !== undefined) expect(Math.abs(m.recall_1000 - ref.r1000)).toBeLessThanOrEqual(0.005);
    });
  });
}

// Top-5 of the first three SciFact test queries as Lucene 8 returns them (Debian liblucene8-java,
// EnglishAnalyzer + BM25Similarity(0.9, 0.4), via scripts/bm25/LuceneBm25Search.java): ids and float scores.
const LUCENE_SCIFACT_TOP5: Record<string, Array<[string, number]>> = {
  "1": [["10608397", 6.598821], ["34386619", 5.170677], ["43385013", 5.1574755], ["18953920", 4.8032327], ["95764370", 4.57497]],
  "3": [["3672261", 16.388103], ["14717500", 16.31073], ["4414547", 16.294418], ["2739854", 15.781119], ["4632921", 15.420367]],
  "5": [["13734012", 11.933228], ["18617259", 8.625059], ["12438901", 6.4897523], ["1203035", 6.093486], ["19140422", 5.863301]],
};

const scifact = join(datasets, "scifact");
const scifactPresent = existsSync(join(scifact, "corpus.jsonl"));
describe.skipIf(!scifactPresent)(`BM25 scores vs Lucene 8${scifactPresent ? "" : ` (skipped: ${scifact} is absent)`}`, () => {
  it("returns Lucene's top-5 ids with bit-identical float32 scores", async () => {
    const index = await indexOf(scifact);
    const { queries } = await loadBeirDataset(scifact, "test");
    for (const [qid, expected] of Object.entries(LUCENE_SCIFACT_TOP5)) {
      const query = queries.find((q) => q.id === qid)!;
      const hits = await index.search(query, 5);
      expect(hits.map((h) => [h.document.id, h.score])).toEqual(expected.map(([id, score]) => [id, Math.fround(score)]));
    }
  });
});
