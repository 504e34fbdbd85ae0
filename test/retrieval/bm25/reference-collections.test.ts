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

for (const ref of REFERENCE) {
  const dir = join(datasets, ref.name);
  const present = existsSync(join(dir, "corpus.jsonl"));
  describe.skipIf(!present)(`BM25 on ${ref.name} test${present ? "" : ` (skipped: ${dir} is absent)`}`, () => {
    it("matches the Lucene 8 reference within ±0.005 with default parameters", async () => {
      const docs: Document[] = [];
      for await (const d of readCorpus(dir)) docs.push(d);
      const index = await Bm25Index.build(docs);
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
